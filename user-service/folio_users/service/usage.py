"""The token-usage dashboard: a read model of ``translation.usage.recorded.v1``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import UsageRecorded
from folio_users.repository import UsageRepository
from folio_users.schemas import (
    IllustrationUsageTotals,
    ModelTokenUsage,
    TokenUsageDashboard,
    TokenUsageTotals,
)


class UsageService:
    def __init__(self, session: AsyncSession) -> None:
        self.usage = UsageRepository(session)

    async def record(self, event: UsageRecorded) -> bool:
        """Count a usage once per ``usage_id``, however often it is delivered."""
        return await self.usage.record(
            {
                "usage_id": event.usage_id,
                "user_id": event.user_id,
                "job_id": event.job_id,
                "model": event.model,
                "category": event.category,
                "phase": event.phase,
                "calls": event.calls,
                "input_tokens": event.input_tokens,
                "output_tokens": event.output_tokens,
                "thinking_tokens": event.thinking_tokens,
                "cached_input_tokens": event.cached_input_tokens,
                "images": event.images,
                "recorded_at": event.recorded_at,
            }
        )

    async def dashboard(self, user_id: str) -> TokenUsageDashboard:
        """Totals and per-model figures, translation and illustrations apart (upstream's
        shape); a total is input + output (output includes reasoning tokens)."""
        translation: list[ModelTokenUsage] = []
        illustration: list[ModelTokenUsage] = []
        images = 0
        last: datetime | None = None
        for row in await self.usage.totals_by_model(user_id):
            figures = ModelTokenUsage(
                model=row.model,
                input_tokens=int(row.input_tokens),
                output_tokens=int(row.output_tokens),
                total_tokens=int(row.input_tokens) + int(row.output_tokens),
            )
            if row.category == "illustration":
                illustration.append(figures)
                images += int(row.images)
            else:
                translation.append(figures)
            last = row.last_recorded if last is None else max(last, row.last_recorded)
        for rows in (translation, illustration):
            rows.sort(key=lambda m: (-m.total_tokens, m.model))
        return TokenUsageDashboard(
            total=_sum(translation),
            per_model=translation,
            illustrations=IllustrationUsageTotals(
                **_sum(illustration).model_dump(), image_count=images, per_model=illustration
            ),
            last_updated=last,
        )


def _sum(rows: list[ModelTokenUsage]) -> TokenUsageTotals:
    return TokenUsageTotals(
        input_tokens=sum(r.input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        total_tokens=sum(r.total_tokens for r in rows),
    )
