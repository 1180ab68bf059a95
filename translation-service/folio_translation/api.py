"""HTTP routes: parse the request, authorize, call the service. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import Field

from folio.db import DbSession
from folio.filenames import content_disposition
from folio.identity import CurrentIdentity
from folio_translation.models import Job
from folio_translation.schemas import JobPublic, TokenUsagePublic
from folio_translation.service import JobOptions, JobService
from folio_translation.settings import TranslationSettings

router = APIRouter(prefix="/api/v1", tags=["jobs"])
UPLOAD_CHUNK = 256 * 1024


def to_public(job: Job) -> JobPublic:
    return JobPublic.model_validate(
        {
            **job.model_dump(),
            "usage": TokenUsagePublic(
                calls=job.llm_calls,
                input_tokens=job.input_tokens,
                output_tokens=job.output_tokens,
                thinking_tokens=job.thinking_tokens,
            ),
        }
    )


def _service(request: Request, session: DbSession) -> JobService:
    runtime = request.app.state.runtime
    return JobService(session, runtime.outbox, request.app.state.storage)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(UPLOAD_CHUNK):
        yield data


@router.post("/jobs", response_model=JobPublic, summary="Upload a book and start translating it")
async def create_job(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    file: Annotated[UploadFile, File(description="The book: TXT, Markdown, DOCX, EPUB or PDF")],
    segment_size: Annotated[int, Form(ge=1, le=10_000_000)] = 15000,
    target_language: Annotated[str | None, Form(max_length=35)] = None,
    source_language: Annotated[str | None, Form(max_length=35)] = None,
) -> JobPublic:
    settings: TranslationSettings = request.app.state.runtime.settings
    options = JobOptions(
        segment_size=segment_size,
        target_language=(target_language or settings.default_target_language).strip(),
        source_language=(source_language or "").strip() or None,
    )
    job = await _service(request, session).create_job(
        identity, file.filename, _chunks(file), options, max_bytes=settings.max_upload_bytes
    )
    return to_public(job)


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="One of your jobs")
async def get_job(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    job_id: Annotated[int, Field(ge=1, le=2**63 - 1)],
) -> JobPublic:
    return to_public(await _service(request, session).visible_job(identity, job_id))


@router.get("/download/{job_id}", summary="Download the translated book")
async def download(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    job_id: Annotated[int, Field(ge=1, le=2**63 - 1)],
) -> Response:
    job, text = await _service(request, session).translated_text(identity, job_id)
    stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
    return Response(
        text.encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": content_disposition(f"{stem}_translated.txt"),
            "Access-Control-Expose-Headers": "Content-Disposition",
        },
    )
