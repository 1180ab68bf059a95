"""Which file a download serves: a finished job's stored output, or what a failed job
translated before it failed (as plain text, as the upstream allows)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import OUTPUT_FILES, OutputKind, download_name
from folio.errors import InvalidInput, NotFound, NotReady
from folio.identity import Identity
from folio.storage import StorageError
from folio_translation.models import Job, JobStatus
from folio_translation.repository import JobRepository, SegmentRepository
from folio_translation.service.access import visible_job
from folio_translation.service.deps import JobDeps


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    chunks: AsyncIterator[bytes]


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class OutputService:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.deps = deps
        self.jobs = JobRepository(session)
        self.segments = SegmentRepository(session)

    async def download(self, identity: Identity, job_id: int, format: str | None) -> Download:
        job = await visible_job(self.jobs, identity, job_id)
        if job.status == JobStatus.FAILED and format in (None, OutputKind.TXT):
            return await self._partial_text(job)
        kind = self._kind(job, format)
        key = (job.outputs or {})[kind]
        try:
            present = await self.deps.storage.exists(key)
        except StorageError:
            present = False
        if not present:
            raise NotFound("The output file is missing from storage.")
        return Download(
            download_name(job.filename, kind),
            OUTPUT_FILES[kind].media_type,
            self.deps.storage.iter_chunks(key),
        )

    def _kind(self, job: Job, format: str | None) -> OutputKind:
        if job.status != JobStatus.COMPLETED:
            raise NotReady(f"Translation is not completed yet. Current status: {job.status}")
        outputs = job.outputs or {}
        if format is None:
            format = OutputKind.EPUB if OutputKind.EPUB in outputs else OutputKind.TXT
        try:
            kind = OutputKind(format)
        except ValueError:
            choices = ", ".join(OutputKind)
            raise InvalidInput(f"Unknown format {format!r}; choose one of: {choices}.") from None
        if kind not in outputs:
            available = ", ".join(sorted(outputs)) or "none"
            raise NotFound(f"This job has no {kind} output (available: {available}).")
        return kind

    async def _partial_text(self, job: Job) -> Download:
        assert job.id is not None
        texts = await self.segments.translated_texts(job.id)
        text = "\n\n".join(texts) + ("\n" if texts else "")
        return Download(
            download_name(job.filename, OutputKind.TXT),
            OUTPUT_FILES[OutputKind.TXT].media_type,
            _once(text.encode("utf-8")),
        )
