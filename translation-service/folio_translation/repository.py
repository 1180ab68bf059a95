"""Every query of the translation schema. No business rules, no commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import CallRecord, PlannedSegment, TokenUsage
from folio_translation.models import (
    Job,
    Segment,
    SegmentStatus,
    TranslationMemory,
    UsageRecord,
)


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
        """The job's columns a client may see, without the large internal ones (the
        analysed context, the user's inputs, sealed keys): what progress streams re-read."""
        table = Job.__table__
        hidden = {"context", "credentials", "style_input", "glossary_input"}
        result = await self.session.execute(
            select(*(c for c in table.c if c.name not in hidden)).where(table.c.id == job_id)
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

    async def add_segments(self, job_id: int, segments: Sequence[PlannedSegment]) -> None:
        if not segments:
            return
        await self.session.execute(
            insert(Segment.__table__),  # type: ignore[arg-type]  # Core: no ORM bulk cost
            [
                {
                    "job_id": job_id,
                    "index": s.index,
                    "source_text": s.source_text,
                    "status": SegmentStatus.PENDING,
                    "chapter_index": s.chapter_index,
                    "chapter_title": s.chapter_title,
                    "units": [u.model_dump(mode="json") for u in s.units],
                    "context": s.context.model_dump(mode="json"),
                    "estimated_tokens": s.estimated_tokens,
                    "digest": s.digest or None,
                }
                for s in segments
            ],
        )

    async def assembly_rows(self, job_id: int) -> list[dict]:
        """What assembling needs of each segment, in order (not the prompt contexts)."""
        table = Segment.__table__
        result = await self.session.execute(
            select(
                table.c.index,
                table.c.chapter_index,
                table.c.chapter_title,
                table.c.source_text,
                table.c.translated_text,
                table.c.units,
                table.c.unit_translations,
            )
            .where(table.c.job_id == job_id)
            .order_by(table.c.index)
        )
        return [dict(row._mapping) for row in result]

    async def segment_states(self, job_id: int) -> list[tuple[int, str, int]]:
        """(index, status, estimated tokens) of every segment: what dispatching needs."""
        result = await self.session.execute(
            select(Segment.index, Segment.status, Segment.estimated_tokens)
            .where(Segment.job_id == job_id)  # type: ignore[arg-type]
            .order_by(Segment.index)  # type: ignore[arg-type]
        )
        return [(i, status, tokens) for i, status, tokens in result.all()]

    async def segments_by_index(self, job_id: int, indexes: Sequence[int]) -> list[Segment]:
        if not indexes:
            return []
        result = await self.session.exec(
            select(Segment)
            .where(Segment.job_id == job_id, Segment.index.in_(indexes))  # type: ignore[arg-type,attr-defined]
            .order_by(Segment.index)  # type: ignore[arg-type]
        )
        return list(result.scalars().all())  # type: ignore[attr-defined]

    async def claim_pending(self, job_id: int, limit: int) -> list[Segment]:
        """The next pending segments, locked; rows another transaction holds are skipped
        (a result being stored for them right now), never waited for."""
        if limit <= 0:
            return []
        result = await self.session.exec(
            select(Segment)
            .where(Segment.job_id == job_id, Segment.status == SegmentStatus.PENDING)  # type: ignore[arg-type]
            .order_by(Segment.index)  # type: ignore[arg-type]
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(result.scalars().all())  # type: ignore[attr-defined]

    async def translated_text_of(self, job_id: int, index: int) -> str:
        result = await self.session.execute(
            select(Segment.translated_text).where(
                Segment.job_id == job_id,
                Segment.index == index,  # type: ignore[arg-type]
            )
        )
        return result.scalar_one_or_none() or ""

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

    async def segment(self, job_id: int, index: int) -> Segment | None:
        return await self.session.get(Segment, (job_id, index))

    async def count_by_status(self, job_id: int) -> dict[str, int]:
        result = await self.session.execute(
            select(Segment.status, func.count())
            .where(Segment.job_id == job_id)  # type: ignore[arg-type]
            .group_by(Segment.status)
        )
        return {status: count for status, count in result.all()}

    async def mark_dispatched(self, job_id: int, fingerprints: dict[int, str]) -> None:
        if not fingerprints:
            return
        table = Segment.__table__  # a Core executemany, not an ORM bulk update
        await self.session.execute(
            update(table)
            .where(table.c.job_id == bindparam("job"), table.c.index == bindparam("idx"))
            .values(status=SegmentStatus.DISPATCHED, fingerprint=bindparam("fp")),
            [{"job": job_id, "idx": i, "fp": fp} for i, fp in fingerprints.items()],
        )

    async def store_translation(
        self,
        job_id: int,
        index: int,
        text: str,
        unit_translations: list[str],
        model: str,
        *,
        cached: bool = False,
    ) -> str | None:
        """Store a segment's translation once. Returns the job's owner (usage is
        attributed to them), or None if the segment was already stored."""
        table, jobs = Segment.__table__, Job.__table__  # Core: this runs for every result
        result = await self.session.execute(
            update(table)
            .where(
                table.c.job_id == job_id,
                table.c.index == index,
                table.c.status != SegmentStatus.TRANSLATED,
                jobs.c.id == table.c.job_id,
            )
            .values(
                translated_text=text,
                unit_translations=unit_translations,
                status=SegmentStatus.TRANSLATED,
                model=model,
                cached=cached,
                error=None,
                translated_at=datetime.now(UTC),
            )
            .returning(jobs.c.owner_id)
        )
        row = result.first()
        return row[0] if row is not None else None

    async def mark_segment_failed(self, job_id: int, index: int, reason: str) -> None:
        await self.session.execute(
            update(Segment)
            .where(Segment.job_id == job_id, Segment.index == index)  # type: ignore[arg-type]
            .values(status=SegmentStatus.FAILED, error=reason)
        )

    @staticmethod
    def add_usage(job: Job, usage: TokenUsage, translated: int = 0) -> None:
        """Count on the locked job row (the caller holds ``FOR UPDATE``: no lost updates)."""
        job.translated_segments += translated
        job.input_tokens += usage.input_tokens
        job.output_tokens += usage.output_tokens
        job.thinking_tokens += usage.thinking_tokens
        job.llm_calls += usage.calls
        job.updated_at = datetime.now(UTC)

    async def record_calls(
        self,
        job_id: int,
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

    async def translated_texts(self, job_id: int) -> list[str]:
        result = await self.session.execute(
            select(Segment.translated_text)
            .where(Segment.job_id == job_id, Segment.translated_text.is_not(None))  # type: ignore[union-attr,arg-type]
            .order_by(Segment.index)  # type: ignore[arg-type]
        )
        return [row[0] for row in result.all()]


class MemoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lookup(self, fingerprints: Sequence[str]) -> dict[str, list[str]]:
        if not fingerprints:
            return {}
        result = await self.session.execute(
            update(TranslationMemory)
            .where(TranslationMemory.fingerprint.in_(fingerprints))  # type: ignore[attr-defined]
            .values(hits=TranslationMemory.hits + 1)
            .returning(TranslationMemory.fingerprint, TranslationMemory.unit_translations)
        )
        return {fp: list(units) for fp, units in result.all()}

    async def remember(self, fingerprint: str, model: str, unit_translations: list[str]) -> None:
        await self.session.execute(
            pg_insert(TranslationMemory)
            .values(fingerprint=fingerprint, model=model, unit_translations=unit_translations)
            .on_conflict_do_nothing(index_elements=["fingerprint"])
        )
