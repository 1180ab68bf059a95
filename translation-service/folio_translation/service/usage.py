"""What a job's model calls cost, and for whom: one usage row per call, and the job's
totals (which the spending cap compares against). Answers served from a cache or the
translation memory are recorded but cost nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import CallRecord, TokenUsage
from folio.contracts.engine import usage_of
from folio_translation.models import Job
from folio_translation.repository import JobRepository, UsageRepository


def spent_tokens(job: Job) -> int:
    return job.input_tokens + job.output_tokens + job.thinking_tokens


class UsageLedger:
    def __init__(self, session: AsyncSession) -> None:
        self.records = UsageRepository(session)

    async def charge(
        self, job: Job, calls: Sequence[CallRecord], segment_index: int | None = None
    ) -> None:
        """Record the calls and add them to the job's totals (the caller holds its lock)."""
        assert job.id is not None
        await self.records.record_calls(job.id, job.owner_id, calls, segment_index)
        JobRepository.add_usage(job, usage_of(calls))

    async def record(
        self, job_id: int, owner_id: str, calls: Sequence[CallRecord], segment_index: int
    ) -> None:
        """Record a translated segment's calls; its totals are counted with the segment
        (``JobRepository.count_translated``), without locking the job."""
        await self.records.record_calls(job_id, owner_id, calls, segment_index)

    async def remembered(self, job: Job, segment_index: int) -> None:
        """A segment served from the translation memory: one free call, one more done."""
        assert job.id is not None
        call = CallRecord(phase="translation", model=job.model, cached=True, outcome="memory")
        await self.records.record_calls(job.id, job.owner_id, [call], segment_index)
        JobRepository.add_usage(job, TokenUsage(), translated=1)
        job.progress = min(99, job.translated_segments * 100 // max(job.total_segments or 0, 1))
