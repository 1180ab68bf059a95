"""Business rules of translation jobs. Callers own the transaction; nothing commits here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import (
    JobPlanned,
    JobPlanningFailed,
    PlanJob,
    SegmentTranslated,
    SegmentTranslationFailed,
    TranslateSegment,
)
from folio.errors import Problem
from folio.filenames import display_filename, extension
from folio.identity import Identity
from folio.messaging import Outbox
from folio.storage import BlobStorage, BlobTooLarge
from folio_translation.models import Job, JobStatus
from folio_translation.repository import JobRepository

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".txt", ".md", ".markdown", ".docx", ".epub", ".pdf")
MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE = 1000, 50000


@dataclass(frozen=True)
class JobOptions:
    segment_size: int = 15000
    target_language: str = "ko"
    source_language: str | None = None


class JobService:
    def __init__(self, session: AsyncSession, outbox: Outbox, storage: BlobStorage | None = None):
        self.session = session
        self.jobs = JobRepository(session)
        self.outbox = outbox
        self.storage = storage

    # -- commands from the API ---------------------------------------------------------

    async def create_job(
        self,
        identity: Identity,
        raw_filename: str | None,
        chunks: AsyncIterator[bytes],
        options: JobOptions,
        *,
        max_bytes: int,
    ) -> Job:
        assert self.storage is not None
        filename = display_filename(raw_filename)
        ext = extension(filename)
        if ext not in SUPPORTED_EXTENSIONS:
            raise Problem(
                415,
                f"Unsupported file type {ext or '(none)'!r}; "
                f"supported: {', '.join(SUPPORTED_EXTENSIONS)}.",
            )
        if not MIN_SEGMENT_SIZE <= options.segment_size <= MAX_SEGMENT_SIZE:
            raise Problem(
                422,
                f"segment_size must be between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE} "
                "characters.",
            )
        try:
            blob = await self.storage.put_stream("uploads", chunks, max_bytes=max_bytes)
        except BlobTooLarge as exc:
            raise Problem(413, f"The file is too large; the limit is {exc.limit} bytes.") from exc
        if blob.size == 0:
            raise Problem(422, "The uploaded file is empty.")
        job = await self.jobs.add(
            Job(
                owner_id=identity.user_id,
                filename=filename,
                segment_size=options.segment_size,
                target_language=options.target_language,
                source_language=options.source_language,
                upload_key=blob.key,
                upload_size=blob.size,
                upload_sha256=blob.sha256,
            )
        )
        assert job.id is not None
        await self.outbox.add(
            self.session,
            PlanJob(
                job_id=job.id,
                upload_key=blob.key,
                filename=filename,
                segment_size=job.segment_size,
                target_language=job.target_language,
                source_language=job.source_language,
            ),
            correlation_id=f"job-{job.id}",
        )
        return job

    async def visible_job(self, identity: Identity, job_id: int) -> Job:
        """The job if the caller may see it; 404 otherwise (no existence leak)."""
        job = await self.jobs.get(job_id)
        if job is None or (job.owner_id != identity.user_id and not identity.is_admin):
            raise Problem(404, f"Job {job_id} not found.")
        return job

    async def translated_text(self, identity: Identity, job_id: int) -> tuple[Job, str]:
        job = await self.visible_job(identity, job_id)
        if job.status not in (JobStatus.COMPLETED, JobStatus.FAILED):
            raise Problem(422, f"Translation is not completed yet. Current status: {job.status}")
        assert job.id is not None
        texts = await self.jobs.translated_texts(job.id)
        return job, "\n\n".join(texts) + ("\n" if texts else "")

    # -- events from the worker --------------------------------------------------------

    async def on_job_planned(self, event: JobPlanned) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.status != JobStatus.PENDING:
            log.info("job %s: plan ignored (job missing or not pending)", event.job_id)
            return
        if not event.segments:
            await self.jobs.set_status(job, JobStatus.FAILED, error="The book contains no text.")
            return
        await self.jobs.add_segments(event.job_id, event.segments)
        job.total_segments = len(event.segments)
        job.source_language = job.source_language or event.source_language
        await self.jobs.set_status(job, JobStatus.PROCESSING)
        await self.outbox.add_many(
            self.session,
            [
                TranslateSegment(
                    job_id=event.job_id,
                    segment_index=segment.index,
                    source_text=segment.source_text,
                    target_language=job.target_language,
                    source_language=job.source_language,
                )
                for segment in event.segments
            ],
            correlation_id=f"job-{event.job_id}",
        )

    async def on_planning_failed(self, event: JobPlanningFailed) -> None:
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.status in (JobStatus.COMPLETED, JobStatus.FAILED):
            return
        await self.jobs.set_status(job, JobStatus.FAILED, error=event.reason)

    async def on_segment_translated(self, event: SegmentTranslated) -> None:
        stored = await self.jobs.store_translation(
            event.job_id, event.segment_index, event.translated_text, event.model
        )
        if not stored:
            return  # this segment was already in: a retry or a second worker's result
        translated, total = await self.jobs.count_translated(event.job_id, event.usage)
        if translated >= total:
            job = await self.jobs.get_for_update(event.job_id)
            if job is not None and job.status == JobStatus.PROCESSING:
                await self.jobs.set_status(job, JobStatus.COMPLETED)

    async def on_segment_failed(self, event: SegmentTranslationFailed) -> None:
        await self.jobs.mark_segment_failed(event.job_id, event.segment_index, event.reason)
        job = await self.jobs.get_for_update(event.job_id)
        if job is None or job.status != JobStatus.PROCESSING:
            return
        await self.jobs.set_status(
            job,
            JobStatus.FAILED,
            error=f"Segment {event.segment_index} could not be translated: {event.reason}",
        )
