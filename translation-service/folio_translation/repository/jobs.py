"""Queries of the ``jobs`` table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import TokenUsage
from folio_translation.models import Job, Segment, SegmentStatus

# Internal columns no client reads (the analysed context, the user's inputs, sealed keys).
HIDDEN_COLUMNS = frozenset({"context", "credentials", "style_input", "glossary_input"})


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: Job) -> Job:
        self.session.add(job)
        await self.session.flush()
        return job

    async def get(self, job_id: int) -> Job | None:
        return await self.session.get(Job, job_id)

    async def public_view(self, job_id: int) -> dict | None:
        """The job's columns a client may see, without the large internal ones: what
        progress streams re-read."""
        table = Job.__table__
        result = await self.session.execute(
            select(*(c for c in table.c if c.name not in HIDDEN_COLUMNS)).where(
                table.c.id == job_id
            )
        )
        row = result.first()
        return dict(row._mapping) if row is not None else None

    async def get_for_update(self, job_id: int) -> Job | None:
        result = await self.session.exec(
            select(Job)
            .where(Job.id == job_id)  # type: ignore[arg-type]
            # NO KEY UPDATE: concurrent inserts that reference the job (usage rows, segments)
            # take KEY SHARE locks on it for their foreign keys; a plain FOR UPDATE would
            # conflict with those and deadlock against handlers waiting on this row.
            .with_for_update(key_share=True)
            # A row lock needs the row as of now, not a copy cached earlier in the session.
            .execution_options(populate_existing=True)
        )
        return result.scalars().first()  # type: ignore[attr-defined]

    async def count_translated(self, job_id: int, usage: TokenUsage) -> tuple[int, int, bool]:
        """Count one more translated segment atomically: (translated, total, whether
        segments are still waiting to be dispatched) after it."""
        waiting = (
            select(Segment.index)
            .where(Segment.job_id == job_id, Segment.status == SegmentStatus.PENDING)  # type: ignore[arg-type]
            .exists()
        )
        result = await self.session.execute(
            update(Job)
            .where(Job.id == job_id)  # type: ignore[arg-type]
            .values(
                translated_segments=Job.translated_segments + 1,
                input_tokens=Job.input_tokens + usage.input_tokens,
                output_tokens=Job.output_tokens + usage.output_tokens,
                thinking_tokens=Job.thinking_tokens + usage.thinking_tokens,
                llm_calls=Job.llm_calls + usage.calls,
                progress=func.least(
                    99, (Job.translated_segments + 1) * 100 / func.greatest(Job.total_segments, 1)
                ),
                updated_at=datetime.now(UTC),
            )
            .returning(Job.translated_segments, Job.total_segments, waiting)
            .execution_options(synchronize_session=False)
        )
        translated, total, pending = result.one()
        return translated, total or 0, bool(pending)

    @staticmethod
    def add_usage(job: Job, usage: TokenUsage, translated: int = 0) -> None:
        """Count on the locked job row (the caller holds ``FOR UPDATE``: no lost updates)."""
        job.translated_segments += translated
        job.input_tokens += usage.input_tokens
        job.output_tokens += usage.output_tokens
        job.thinking_tokens += usage.thinking_tokens
        job.llm_calls += usage.calls
        job.updated_at = datetime.now(UTC)
