"""Queries of the ``usage_records`` table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import CallRecord
from folio.contracts.usage import usage_category
from folio_translation.models import UsageRecord


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_calls(
        self,
        job_id: int | None,
        owner_id: str,
        calls: Sequence[CallRecord],
        segment_index: int | None = None,
    ) -> None:
        if not calls:
            return
        # A Core executemany: these rows are written on every result, and the ORM's bulk
        # insert machinery costs more than the insert itself.
        await self.session.execute(
            insert(UsageRecord.__table__),  # type: ignore[arg-type]
            [
                {
                    "job_id": job_id,
                    "owner_id": owner_id,
                    "segment_index": segment_index,
                    "phase": call.phase,
                    "category": usage_category(call.phase),
                    "model": call.model,
                    "key_id": call.key_id,
                    "input_tokens": call.input_tokens,
                    "output_tokens": call.output_tokens,
                    "thinking_tokens": call.thinking_tokens,
                    "latency_ms": call.latency_ms,
                    "outcome": call.outcome,
                    "cached": call.cached,
                }
                for call in calls
            ],
        )
