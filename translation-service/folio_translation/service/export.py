"""Exporting a finished translation as a PDF, rendered on request and streamed.

The segments are read in batches, the PDF is rendered in a thread into a temporary file
(at most ``RENDERS`` at once per process: rendering is CPU work) and the file is streamed
and then deleted, so neither the request nor the response holds the book twice.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.db import Database
from folio.errors import NotReady
from folio.identity import Identity
from folio_translation.models import Job, JobStatus
from folio_translation.pdf import PageSize, PdfSegment, render_pdf
from folio_translation.repository import JobRepository, SegmentRepository
from folio_translation.service.access import visible_job
from folio_translation.service.outputs import Download

RENDERS = asyncio.Semaphore(2)
CHUNK = 256 * 1024


class ExportService:
    def __init__(self, session: AsyncSession, database: Database) -> None:
        self.database = database
        self.jobs = JobRepository(session)

    async def pdf(
        self, identity: Identity, job_id: int, *, page_size: PageSize, include_source: bool
    ) -> Download:
        job = await visible_job(self.jobs, identity, job_id)
        if job.status != JobStatus.COMPLETED:
            raise NotReady(
                f"PDF generation is available only for completed jobs. Current status: {job.status}"
            )
        path = await self._render(job, page_size, include_source)
        stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
        return Download(f"{stem}_translation.pdf", "application/pdf", _stream_then_delete(path))

    async def _render(self, job: Job, page_size: PageSize, include_source: bool) -> Path:
        assert job.id is not None
        segments: list[PdfSegment] = []
        async with self.database.sessions() as session:
            rows = SegmentRepository(session).stream(
                job.id, "translated_text", "source_text", "chapter_title"
            )
            async for row in rows:
                segments.append(
                    PdfSegment(
                        translation=row.translated_text or "",
                        source=row.source_text,  # it names the chapter's heading
                        chapter_title=row.chapter_title,
                    )
                )
        document = job.document or {}
        title = document.get("title") or job.filename
        authors = ", ".join(document.get("authors") or [])
        subtitle = " · ".join(
            p for p in (authors, f"{job.source_language or '?'} → {job.target_language}") if p
        )
        handle, name = tempfile.mkstemp(prefix="folio-export-", suffix=".pdf")
        os.close(handle)
        path = Path(name)
        try:
            async with RENDERS:
                await anyio.to_thread.run_sync(
                    lambda: render_pdf(
                        path,
                        title=title,
                        subtitle=subtitle,
                        segments=segments,
                        page_size=page_size,
                        include_source=include_source,
                        language=job.target_language,
                    )
                )
        except BaseException:
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
            raise
        return path


async def _stream_then_delete(path: Path) -> AsyncIterator[bytes]:
    try:
        async with await anyio.open_file(path, "rb") as source:
            while chunk := await source.read(CHUNK):
                yield chunk
    finally:
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
