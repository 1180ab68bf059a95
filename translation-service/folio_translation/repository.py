"""Every query of the translation schema. No business rules, no commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import PlannedSegment, TokenUsage
from folio_translation.models import Job, JobStatus, Segment, SegmentStatus


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, job: Job) -> Job:
        self.session.add(job)
        await self.session.flush()
        return job

    async def get(self, job_id: int) -> Job | None:
        return await self.session.get(Job, job_id)

    async def get_for_update(self, job_id: int) -> Job | None:
        result = await self.session.exec(
            select(Job).where(Job.id == job_id).with_for_update()  # type: ignore[arg-type]
        )
        return result.scalars().first()  # type: ignore[attr-defined]

    async def add_segments(self, job_id: int, segments: Sequence[PlannedSegment]) -> None:
        if not segments:
            return
        await self.session.execute(
            insert(Segment),
            [
                {
                    "job_id": job_id,
                    "index": s.index,
                    "source_text": s.source_text,
                    "status": SegmentStatus.PENDING,
                    "chapter_index": s.chapter_index,
                    "chapter_title": s.chapter_title,
                }
                for s in segments
            ],
        )

    async def store_translation(self, job_id: int, index: int, text: str, model: str) -> bool:
        """Store a segment's translation once; False if it was already stored."""
        result = await self.session.execute(
            update(Segment)
            .where(
                Segment.job_id == job_id,  # type: ignore[arg-type]
                Segment.index == index,  # type: ignore[arg-type]
                Segment.status != SegmentStatus.TRANSLATED,  # type: ignore[arg-type]
            )
            .values(
                translated_text=text,
                status=SegmentStatus.TRANSLATED,
                model=model,
                error=None,
                translated_at=datetime.now(UTC),
            )
            .returning(Segment.index)
        )
        return result.first() is not None

    async def mark_segment_failed(self, job_id: int, index: int, reason: str) -> None:
        await self.session.execute(
            update(Segment)
            .where(Segment.job_id == job_id, Segment.index == index)  # type: ignore[arg-type]
            .values(status=SegmentStatus.FAILED, error=reason)
        )

    async def count_translated(self, job_id: int, usage: TokenUsage) -> tuple[int, int]:
        """Count one more translated segment; returns (translated, total) atomically."""
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
            .returning(Job.translated_segments, Job.total_segments)
        )
        translated, total = result.one()
        return translated, total or 0

    async def translated_texts(self, job_id: int) -> list[str]:
        result = await self.session.execute(
            select(Segment.translated_text)
            .where(Segment.job_id == job_id, Segment.translated_text.is_not(None))  # type: ignore[union-attr,arg-type]
            .order_by(Segment.index)  # type: ignore[arg-type]
        )
        return [row[0] for row in result.all()]

    async def set_status(self, job: Job, status: JobStatus, *, error: str | None = None) -> None:
        job.status = status
        job.updated_at = datetime.now(UTC)
        if error is not None:
            job.error_message = error
        if status == JobStatus.COMPLETED:
            job.progress = 100
            job.completed_at = datetime.now(UTC)
        self.session.add(job)
