"""Which file a download serves: a finished job's stored output, or what a failed or
cancelled job translated before it stopped (as plain text, as the upstream allows). A job
with no translated text is a 422, never a 200 with an empty body. Every file is streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import OUTPUT_FILES, OutputKind, download_name
from folio.db import Database
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


STOPPED = (JobStatus.FAILED, JobStatus.CANCELLED)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class OutputService:
    def __init__(self, session: AsyncSession, deps: JobDeps, database: Database) -> None:
        self.deps = deps
        self.database = database
        self.jobs = JobRepository(session)
        self.segments = SegmentRepository(session)

    async def download(self, identity: Identity, job_id: int, format: str | None) -> Download:
        job = await visible_job(self.jobs, identity, job_id)
        if job.status in STOPPED and format in (None, OutputKind.TXT):
            return await self._partial_text(job)
        kind = self._kind(job, format)
        if kind is OutputKind.GLOSSARY:
            # The job's context is the glossary's home (it may have been edited since the
            # files were built).
            entries = (job.context or {}).get("glossary") or []
            body = json.dumps(
                {g["term"]: g["translation"] for g in entries}, ensure_ascii=False, indent=2
            ).encode()
            return Download(
                download_name(job.filename, kind), OUTPUT_FILES[kind].media_type, _once(body)
            )
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
        if await self.segments.count(job.id, translated=True) == 0:
            raise NotReady(f"The job is {job.status} and has no translated text to download.")
        return Download(
            download_name(job.filename, OutputKind.TXT),
            OUTPUT_FILES[OutputKind.TXT].media_type,
            self._translated_text(job.id),
        )

    async def _translated_text(self, job_id: int) -> AsyncIterator[bytes]:
        """What was translated, segment by segment, read in batches."""
        first = True
        async with self.database.sessions() as session:
            async for row in SegmentRepository(session).stream(job_id, "translated_text"):
                if row[0]:
                    yield (b"" if first else b"\n\n") + row[0].encode("utf-8")
                    first = False
        yield b"\n"
