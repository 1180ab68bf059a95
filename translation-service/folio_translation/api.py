"""HTTP routes: parse the request, authorize, call the service. Nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import Field

from folio.db import DbSession
from folio.errors import Problem
from folio.filenames import content_disposition
from folio.identity import CurrentIdentity
from folio.storage import StorageError
from folio_translation import inputs
from folio_translation.models import Job, JobStatus
from folio_translation.repository import JobRepository
from folio_translation.schemas import JobPublic, ResumeRequest, TokenUsagePublic
from folio_translation.service import JobOptions, JobService
from folio_translation.settings import TranslationSettings

router = APIRouter(prefix="/api/v1", tags=["jobs"])
UPLOAD_CHUNK = 256 * 1024
JobId = Annotated[int, Field(ge=1, le=2**63 - 1)]
MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "bilingual_txt": "text/plain; charset=utf-8",
    "epub": "application/epub+zip",
    "bilingual_epub": "application/epub+zip",
    "segments": "application/json",
    "glossary": "application/json",
}


def to_public(job: Job | Mapping[str, Any]) -> JobPublic:
    values = dict(job) if isinstance(job, Mapping) else job.model_dump()
    return JobPublic.model_validate(
        {
            **values,
            "usage": TokenUsagePublic(
                calls=values["llm_calls"],
                input_tokens=values["input_tokens"],
                output_tokens=values["output_tokens"],
                thinking_tokens=values["thinking_tokens"],
            ),
            "outputs": sorted(values.get("outputs") or {}),
        }
    )


def _service(request: Request, session: DbSession) -> JobService:
    return JobService(session, request.app.state.job_deps)


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
    turbo_mode: Annotated[bool, Form()] = False,
    strict_continuity: Annotated[
        bool, Form(description="Each segment also sees the previous translation (sequential)")
    ] = False,
    style_data: Annotated[str | None, Form(max_length=20_000)] = None,
    glossary_data: Annotated[str | None, Form(max_length=2_000_000)] = None,
    glossary_mode: Annotated[Literal["seed", "replace"], Form()] = "seed",
    max_tokens: Annotated[
        int | None, Form(description="Spending cap for the job, in tokens")
    ] = None,
    bilingual: Annotated[bool, Form(description="Also build bilingual outputs")] = False,
    api_key: Annotated[str | None, Form(max_length=500)] = None,
    backup_api_keys: Annotated[str | None, Form(max_length=20_000)] = None,
    api_provider: Annotated[str | None, Form(max_length=20)] = None,
    model_name: Annotated[str | None, Form(max_length=200)] = None,
    api_base_url: Annotated[str | None, Form(max_length=500)] = None,
    requests_per_minute: Annotated[int | None, Form(ge=1, le=100_000)] = None,
    thinking_level: Annotated[str | None, Form(max_length=10)] = None,
    provider_config: Annotated[str | None, Form(max_length=50_000)] = None,
) -> JobPublic:
    settings: TranslationSettings = request.app.state.runtime.settings
    if turbo_mode and strict_continuity:
        raise Problem(422, "turbo_mode and strict_continuity cannot be combined.")
    options = JobOptions(
        segment_size=segment_size,
        target_language=(target_language or settings.default_target_language).strip(),
        source_language=(source_language or "").strip() or None,
        mode="turbo" if turbo_mode else "strict" if strict_continuity else "default",
        provider=inputs.parse_provider(
            api_provider=api_provider,
            api_key=api_key,
            backup_api_keys=backup_api_keys,
            model_name=model_name,
            api_base_url=api_base_url,
            requests_per_minute=requests_per_minute,
            thinking_level=thinking_level,
            provider_config=provider_config,
        ),
        style=inputs.parse_style(style_data),
        glossary=inputs.parse_glossary(glossary_data),
        glossary_mode=glossary_mode,
        max_tokens=max_tokens,
        bilingual=bilingual,
    )
    job = await _service(request, session).create_job(
        identity, file.filename, _chunks(file), options, max_bytes=settings.max_upload_bytes
    )
    return to_public(job)


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="One of your jobs")
async def get_job(
    request: Request, session: DbSession, identity: CurrentIdentity, job_id: JobId
) -> JobPublic:
    return to_public(await _service(request, session).visible_job(identity, job_id))


TERMINAL = (JobStatus.COMPLETED, JobStatus.FAILED)
HEARTBEAT_S = 15.0
PROGRESS_INTERVAL_S = 0.5
STREAM_LIMIT_S = 6 * 3600.0


@router.get(
    "/jobs/{job_id}/events",
    summary="Follow a job: a server-sent event with the job each time it changes",
    response_class=StreamingResponse,
)
async def job_events(
    request: Request, session: DbSession, identity: CurrentIdentity, job_id: JobId
) -> StreamingResponse:
    await _service(request, session).visible_job(identity, job_id)  # 404 before streaming
    database = request.app.state.database
    watch = request.app.state.job_watch

    async def stream() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_LIMIT_S
        last = b""
        with watch.watch(job_id) as signal:
            while loop.time() < deadline:
                signal.clear()
                read_at = loop.time()
                async with database.sessions() as fresh:
                    job = await JobRepository(fresh).public_view(job_id)  # type: ignore[arg-type]
                if job is None:
                    return
                signal.seen_status = job["status"]
                payload = to_public(job).model_dump_json().encode()
                if payload != last:
                    yield b"event: job\ndata: " + payload + b"\n\n"
                    last = payload
                if job["status"] in TERMINAL:
                    return
                try:
                    await asyncio.wait_for(signal.changed.wait(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                # Progress alone is sent at most every PROGRESS_INTERVAL_S (a busy job
                # changes many times a second); a new status goes out at once.
                pause = read_at + PROGRESS_INTERVAL_S - loop.time()
                if pause > 0 and not signal.status_changed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(signal.status_changed.wait(), timeout=pause)
                if await request.is_disconnected():
                    return

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/jobs/{job_id}/resume", response_model=JobPublic, summary="Resume a paused job")
async def resume_job(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    job_id: JobId,
    body: ResumeRequest | None = None,
) -> JobPublic:
    job = await _service(request, session).resume(
        identity, job_id, body.max_tokens if body else None
    )
    return to_public(job)


@router.get("/download/{job_id}", summary="Download the translated book")
async def download(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    job_id: JobId,
    format: Annotated[
        str | None,
        Query(description="txt, epub, bilingual_txt, bilingual_epub, segments or glossary"),
    ] = None,
) -> Response:
    service = _service(request, session)
    job = await service.visible_job(identity, job_id)
    stem = job.filename.rsplit(".", 1)[0] if "." in job.filename else job.filename
    headers = {"Access-Control-Expose-Headers": "Content-Disposition"}
    if job.status == JobStatus.FAILED and format in (None, "txt"):
        _, text = await service.partial_text(identity, job_id)
        headers["Content-Disposition"] = content_disposition(f"{stem}_translated.txt")
        return Response(text.encode("utf-8"), media_type=MEDIA_TYPES["txt"], headers=headers)
    job, key, name = await service.output(identity, job_id, format)
    kind = format or ("epub" if name.endswith(".epub") else "txt")
    storage = request.app.state.storage
    try:
        if not await storage.exists(key):
            raise Problem(404, "The output file is missing from storage.")
    except StorageError as exc:
        raise Problem(404, "The output file is missing from storage.") from exc
    headers["Content-Disposition"] = content_disposition(name)
    return StreamingResponse(
        storage.iter_chunks(key), media_type=MEDIA_TYPES[kind], headers=headers
    )
