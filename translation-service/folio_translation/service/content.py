"""Reading a job's text through the API: its segments (a page at a time) and its content
(the whole translation and source, streamed as one JSON document)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.db import Database
from folio.errors import DomainError, NotFound
from folio.identity import Identity
from folio_translation.models import Job, JobStatus
from folio_translation.repository import JobRepository, SegmentRepository
from folio_translation.schemas import SegmentPublic, SegmentsPage
from folio_translation.service.access import visible_job


class NotAccessible(DomainError):
    """The job's text cannot be read in its state (the upstream answers 400)."""


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()


class ContentService:
    def __init__(self, session: AsyncSession, database: Database) -> None:
        self.database = database
        self.jobs = JobRepository(session)
        self.segments = SegmentRepository(session)

    async def segments_page(
        self, identity: Identity, job_id: int, offset: int, limit: int
    ) -> SegmentsPage:
        job = await visible_job(self.jobs, identity, job_id)
        assert job.id is not None
        total = await self.segments.count(job.id)
        rows = await self.segments.page(job.id, offset, limit) if total else []
        message = None
        if total == 0:
            if job.status == JobStatus.FAILED:
                raise NotFound("No segments available - job failed during processing")
            message = "The book is still being planned: no segments yet."
        return SegmentsPage(
            job_id=job.id,
            status=job.status,
            filename=job.filename,
            completed_at=job.completed_at,
            segments=[
                SegmentPublic(
                    segment_index=r["index"],
                    source_text=r["source_text"],
                    translated_text=r["translated_text"],
                    chapter_index=r["chapter_index"],
                    chapter_title=r["chapter_title"],
                    status=r["status"],
                    failed=bool(r["failures"]),
                    unit_failures=r["failures"] or [],
                    warnings=r.get("warnings") or [],
                )
                for r in rows
            ],
            total=total,
            total_segments=total,
            offset=offset,
            limit=limit,
            has_more=offset + len(rows) < total,
            message=message,
        )

    async def readable_job(self, identity: Identity, job_id: int) -> Job:
        """The job, if its content can be read now (as upstream: once it is completed)."""
        job = await visible_job(self.jobs, identity, job_id)
        if job.status != JobStatus.COMPLETED:
            raise NotAccessible(f"Job not accessible. Status: {job.status}")
        return job

    async def content(self, job: Job) -> AsyncIterator[bytes]:
        """``{job_id, status, filename, completed_at, content, source_content, segments}``,
        written as it is read (each pass over the segments is its own batched query)."""
        assert job.id is not None
        head = {
            "job_id": job.id,
            "status": job.status,
            "filename": job.filename,
            "completed_at": job.completed_at.isoformat() if job.completed_at else None,
        }
        yield _dumps(head)[:-1] + b', "content": "'
        async for piece in self._joined(job.id, "translated_text"):
            yield piece
        yield b'", "source_content": "'
        async for piece in self._joined(job.id, "source_text"):
            yield piece
        yield b'", "segments": ['
        first = True
        async with self.database.sessions() as session:
            rows = SegmentRepository(session).stream(
                job.id, "index", "source_text", "translated_text", "chapter_title"
            )
            async for row in rows:
                item = {
                    "segment_index": row.index,
                    "source_text": row.source_text,
                    "translated_text": row.translated_text,
                    "chapter_title": row.chapter_title,
                }
                yield (b"" if first else b", ") + _dumps(item)
                first = False
        yield b"]}"

    async def _joined(self, job_id: int, column: str) -> AsyncIterator[bytes]:
        """The column's texts joined by blank lines, as the inside of a JSON string."""
        first = True
        async with self.database.sessions() as session:
            async for row in SegmentRepository(session).stream(job_id, column):
                text = row[0]
                if not text:
                    continue
                escaped = _dumps(("" if first else "\n\n") + text)[1:-1]
                first = False
                yield escaped
