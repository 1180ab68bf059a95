"""Creating, reading and resuming jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile

from folio.errors import Problem
from folio.identity import CurrentIdentity
from folio_translation import inputs
from folio_translation.api.deps import JobId, Jobs, Settings
from folio_translation.schemas import JobPublic, ResumeRequest
from folio_translation.service import JobOptions

router = APIRouter(tags=["jobs"])
UPLOAD_CHUNK = 256 * 1024


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(UPLOAD_CHUNK):
        yield data


@router.post("/jobs", response_model=JobPublic, summary="Upload a book and start translating it")
async def create_job(
    jobs: Jobs,
    settings: Settings,
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
    job = await jobs.create_job(
        identity, file.filename, _chunks(file), options, max_bytes=settings.max_upload_bytes
    )
    return JobPublic.of(job)


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="One of your jobs")
async def get_job(jobs: Jobs, identity: CurrentIdentity, job_id: JobId) -> JobPublic:
    return JobPublic.of(await jobs.visible_job(identity, job_id))


@router.post("/jobs/{job_id}/resume", response_model=JobPublic, summary="Resume a paused job")
async def resume_job(
    jobs: Jobs, identity: CurrentIdentity, job_id: JobId, body: ResumeRequest | None = None
) -> JobPublic:
    job = await jobs.resume(identity, job_id, body.max_tokens if body else None)
    return JobPublic.of(job)
