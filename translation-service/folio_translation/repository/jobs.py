"""Queries of the ``jobs`` table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    ColumnElement,
    delete,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import TokenUsage
from folio_translation.models import Job, JobEvent, Segment

# Internal columns no client reads (the analysed context, the user's inputs, sealed keys).
HIDDEN_COLUMNS = frozenset({"context", "credentials", "style_input", "glossary_input"})


def failed_columns(job_id: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """The job's segments with marked units (indices, in order) and how many units are
    marked in all, read from the segments (their one home) for each job row."""
    segments = Segment.__table__
    marked = segments.c.failures.is_not(None)
    indices = (
        select(
            func.coalesce(
                func.array_agg(aggregate_order_by(segments.c.index, segments.c.index)),
                literal_column("'{}'::integer[]"),
            )
        )
        .where(segments.c.job_id == job_id, marked)
        .scalar_subquery()
        .label("failed_segments")
    )
    units = (
        select(func.coalesce(func.sum(func.jsonb_array_length(segments.c.failures)), 0))
        .where(segments.c.job_id == job_id, marked)
        .scalar_subquery()
        .label("failed_units")
    )
    return indices, units


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: Job) -> Job:
        self.session.add(job)
        await self.session.flush()
        return job

    async def get(self, job_id: int) -> Job | None:
        return await self.session.get(Job, job_id)

    async def exists(self, job_id: int) -> bool:
        """Without loading the row (its context can be large): for frequent polls."""
        table = Job.__table__
        found = await self.session.execute(select(table.c.id).where(table.c.id == job_id))
        return found.first() is not None

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

    async def list_for_owner(self, owner_id: str, *, skip: int, limit: int) -> list[dict]:
        """The owner's jobs, newest first, without the large internal columns, each with
        its marked segments (``failed_segments``, ``failed_units``)."""
        table = Job.__table__
        result = await self.session.execute(
            select(
                *(c for c in table.c if c.name not in HIDDEN_COLUMNS),
                *failed_columns(table.c.id),
            )
            .where(table.c.owner_id == owner_id)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .offset(skip)
            .limit(limit)
        )
        return [dict(row._mapping) for row in result]

    async def by_idempotency_key(self, owner_id: str, key: str) -> Job | None:
        result = await self.session.exec(
            select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)  # type: ignore[arg-type]
        )
        return result.scalars().first()  # type: ignore[attr-defined]

    async def delete(self, job: Job) -> None:
        """The job and what cascades with it (segments, events); usage rows stay, unlinked."""
        await self.session.execute(delete(Job).where(Job.id == job.id))  # type: ignore[arg-type]
        self.session.expunge(job)

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

    def record_segment_event(self, job: Job, segment_index: int) -> None:
        """A segment stored under the job's lock (e.g. from the memory): its event, numbered
        on the locked row."""
        assert job.id is not None
        job.event_seq += 1
        self.session.add(
            JobEvent(
                job_id=job.id,
                seq=job.event_seq,
                kind="segment",
                data={
                    "segment_index": segment_index,
                    "translated_segments": job.translated_segments,
                    "total_segments": job.total_segments,
                    "progress": job.progress,
                    "failed_units": 0,  # the memory keeps only fully translated segments
                },
            )
        )

    async def owner_of(self, job_id: int) -> tuple[str, bool] | None:
        """The job's owner, and whether it runs on the deployment's own key."""
        row = (
            await self.session.execute(
                select(Job.owner_id, Job.credentials.is_(None)).where(Job.id == job_id)  # type: ignore[arg-type, union-attr]
            )
        ).first()
        return (row[0], bool(row[1])) if row is not None else None

    async def add_usage_atomically(self, job_id: int, usage: TokenUsage) -> None:
        """Add to the job's totals in one statement (no lock held across the handler)."""
        if not usage.calls and not (usage.input_tokens or usage.output_tokens):
            return
        await self.session.execute(
            update(Job)
            .where(Job.id == job_id)  # type: ignore[arg-type]
            .values(
                input_tokens=Job.input_tokens + usage.input_tokens,
                output_tokens=Job.output_tokens + usage.output_tokens,
                thinking_tokens=Job.thinking_tokens + usage.thinking_tokens,
                cached_input_tokens=Job.cached_input_tokens + usage.cached_input_tokens,
                estimated_tokens=Job.estimated_tokens + usage.estimated_tokens,
                llm_calls=Job.llm_calls + usage.calls,
                updated_at=datetime.now(UTC),
            )
        )

    @staticmethod
    def add_usage(job: Job, usage: TokenUsage, translated: int = 0) -> None:
        """Count on the locked job row (the caller holds ``FOR UPDATE``: no lost updates)."""
        job.translated_segments += translated
        job.input_tokens += usage.input_tokens
        job.output_tokens += usage.output_tokens
        job.thinking_tokens += usage.thinking_tokens
        job.cached_input_tokens += usage.cached_input_tokens
        job.estimated_tokens += usage.estimated_tokens
        job.llm_calls += usage.calls
        job.updated_at = datetime.now(UTC)
