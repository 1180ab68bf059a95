"""Queries of the ``job_events`` table (what a job's live followers are sent)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from folio_translation.models import JobEvent


class JobEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def between(
        self, job_id: int, after: int, upto: int, limit: int = 1000
    ) -> list[tuple[int, str, dict]]:
        """(seq, kind, data) of the job's events numbered in (after, upto], in order.

        Every number up to ``upto`` (the job row's ``event_seq`` read before) is committed:
        numbers are given under the job's row lock, in commit order."""
        table = JobEvent.__table__
        result = await self.session.execute(
            select(table.c.seq, table.c.kind, table.c.data)
            .where(table.c.job_id == job_id, table.c.seq > after, table.c.seq <= upto)
            .order_by(table.c.seq)
            .limit(limit)
        )
        return [(seq, kind, data) for seq, kind, data in result.all()]
