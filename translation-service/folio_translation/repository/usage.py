"""Queries of the ``usage_records`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
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
        owner_id: str | None,
        calls: Sequence[CallRecord],
        segment_index: int | None = None,
        *,
        allowance: bool = False,
    ) -> list[CallRecord]:
        """Store the calls not stored yet (by ``call_id``); returns those it stored.

        A call reaches translation-service by its result event and by the worker's usage
        journal, and again when a command is redone: each is one row, whichever comes first.
        """
        if not calls:
            return []
        table = UsageRecord.__table__  # Core: these rows are written on every result
        statement = (
            insert(table)  # type: ignore[arg-type]
            .on_conflict_do_nothing(index_elements=["call_id"])
            .returning(table.c.call_id)  # type: ignore[attr-defined]
        )
        rows = [
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
                "cached_input_tokens": call.cached_input_tokens,
                "call_id": call.call_id,
                "latency_ms": call.latency_ms,
                "outcome": call.outcome,
                "cached": call.cached,
                "estimated": call.estimated,
                "allowance": allowance,
            }
            for call in calls
        ]
        result = await self.session.execute(statement, rows)
        stored = {row[0] for row in result.all()}
        return [call for call in calls if call.call_id is None or call.call_id in stored]

    async def allowance_spent(self, owner_id: str, since: datetime) -> int:
        """Tokens ``owner_id``'s calls on the deployment's own key billed since ``since``."""
        table = UsageRecord.__table__
        c = table.c  # type: ignore[attr-defined]
        total = func.coalesce(func.sum(c.input_tokens + c.output_tokens + c.thinking_tokens), 0)
        statement = select(total).where(
            c.owner_id == owner_id, c.allowance, c.created_at >= since, ~c.cached
        )
        return int((await self.session.execute(statement)).scalar_one())
