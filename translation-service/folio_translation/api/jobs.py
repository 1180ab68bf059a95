"""Jobs: list, create, read, delete, resume, cancel (the upstream's paths and fields)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Header, Query, Response, UploadFile

from folio.contracts import GlossaryEntry, ProviderConfig
from folio.errors import Problem
from folio.identity import CurrentIdentity, OptionalIdentity
from folio_translation import inputs
from folio_translation.api.deps import Control, JobId, Jobs, Settings
from folio_translation.schemas import (
    JobPublic,
    JobStatusView,
    JobSummary,
    ResumeRequest,
    RetranslateRequest,
    RetranslationPublic,
)
from folio_translation.service import JobOptions, Resumption, Selection

MAX_GLOSSARY_FILE_BYTES = 2_000_000

router = APIRouter(tags=["jobs"])
UPLOAD_CHUNK = 256 * 1024


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while data := await upload.read(UPLOAD_CHUNK):
        yield data


@router.get("/jobs", response_model=list[JobSummary], summary="Your jobs, newest first")
async def list_jobs(
    jobs: Jobs,
    identity: CurrentIdentity,
    skip: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[JobSummary]:
    return [JobSummary.of(row) for row in await jobs.list_jobs(identity, skip, limit)]


@router.post(
    "/jobs",
    response_model=JobPublic,
    summary="Upload a book and start translating it",
    description=(
        "Answers 200 with the new job (as the upstream does). Send an `Idempotency-Key` "
        "header to make a retried upload return the job the first attempt made."
    ),
)
async def create_job(
    jobs: Jobs,
    settings: Settings,
    identity: CurrentIdentity,
    file: Annotated[UploadFile, File(description="The book: TXT, Markdown, DOCX, EPUB or PDF")],
    api_key: Annotated[
        str | None, Form(max_length=500, description="Your key; empty: the default provider")
    ] = None,
    backup_api_keys: Annotated[str | None, Form(max_length=20_000)] = None,
    requests_per_minute: Annotated[int | None, Form(ge=1, le=100_000)] = None,
    model_name: Annotated[str | None, Form(max_length=200)] = "gemini-flash-lite-latest",
    translation_model_name: Annotated[str | None, Form(max_length=200)] = None,
    style_model_name: Annotated[str | None, Form(max_length=200)] = None,
    glossary_model_name: Annotated[str | None, Form(max_length=200)] = None,
    thinking_level: Annotated[str | None, Form(max_length=10)] = None,
    style_data: Annotated[str | None, Form(max_length=20_000)] = None,
    glossary_data: Annotated[
        str | None,
        Form(
            max_length=2_000_000, description="Glossary: JSON (upstream or structured), CSV or TSV"
        ),
    ] = None,
    segment_size: Annotated[int, Form(ge=1, le=10_000_000)] = 15000,
    enable_validation: Annotated[bool, Form()] = False,
    quick_validation: Annotated[bool, Form()] = False,
    validation_sample_rate: Annotated[float, Form(allow_inf_nan=False)] = 1.0,
    enable_post_edit: Annotated[bool, Form()] = False,
    api_provider: Annotated[str | None, Form(max_length=20)] = "gemini",
    provider_config: Annotated[str | None, Form(max_length=50_000)] = None,
    turbo_mode: Annotated[bool, Form()] = False,
    # Folio's own options.
    target_language: Annotated[str | None, Form(max_length=35)] = None,
    source_language: Annotated[str | None, Form(max_length=35)] = None,
    strict_continuity: Annotated[
        bool, Form(description="Each segment also sees the previous translation (sequential)")
    ] = False,
    glossary_mode: Annotated[Literal["seed", "replace"], Form()] = "seed",
    max_tokens: Annotated[
        int | None, Form(description="Spending cap for the job, in tokens")
    ] = None,
    bilingual: Annotated[bool, Form(description="Also build bilingual outputs")] = False,
    colophon: Annotated[
        bool, Form(description="Record the machine translation (model, date) in the outputs")
    ] = False,
    vertical_writing: Annotated[
        bool, Form(description="Japanese, Chinese or Korean EPUB written top to bottom")
    ] = False,
    api_base_url: Annotated[str | None, Form(max_length=500)] = None,
    glossary_file: Annotated[
        UploadFile | None,
        File(description="Glossary file (.json, .csv, .tsv); glossary_data entries win"),
    ] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JobPublic:
    if turbo_mode and strict_continuity:
        raise Problem(422, "turbo_mode and strict_continuity cannot be combined.")
    provider = inputs.parse_provider(
        api_provider=api_provider,
        api_key=api_key,
        backup_api_keys=backup_api_keys,
        model_name=translation_model_name or model_name,
        api_base_url=api_base_url,
        requests_per_minute=requests_per_minute,
        thinking_level=thinking_level,
        provider_config=provider_config,
    )
    options = JobOptions(
        segment_size=segment_size,
        target_language=(target_language or settings.default_target_language).strip(),
        source_language=(source_language or "").strip() or None,
        mode="turbo" if turbo_mode else "strict" if strict_continuity else "default",
        provider=provider,
        analysis_model=(style_model_name or glossary_model_name or "").strip() or None,
        style=inputs.parse_style(style_data),
        glossary=await _glossary(glossary_data, glossary_file),
        glossary_mode=glossary_mode,
        max_tokens=max_tokens,
        bilingual=bilingual,
        colophon=colophon,
        vertical=vertical_writing,
        validation_enabled=enable_validation,
        quick_validation=quick_validation,
        validation_sample_rate=int(min(max(validation_sample_rate, 0.0), 1.0) * 100),
        post_edit_enabled=enable_post_edit,
    )
    job = await jobs.create_job(
        identity,
        file.filename,
        _chunks(file),
        options,
        max_bytes=settings.max_upload_bytes,
        idempotency_key=idempotency_key,
    )
    return JobPublic.of(job)


async def _glossary(data: str | None, upload: UploadFile | None) -> list[GlossaryEntry]:
    entries: dict[str, GlossaryEntry] = {}
    if upload is not None and upload.filename:
        raw = await upload.read(MAX_GLOSSARY_FILE_BYTES + 1)
        if len(raw) > MAX_GLOSSARY_FILE_BYTES:
            raise Problem(413, "The glossary file is larger than 2 MB.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Problem(422, "The glossary file must be UTF-8 text.") from None
        for entry in inputs.parse_glossary(text, filename=upload.filename):
            entries[entry.term] = entry
    for entry in inputs.parse_glossary(data):
        entries[entry.term] = entry
    return list(entries.values())


@router.get(
    "/jobs/{job_id}",
    response_model=JobPublic | JobStatusView,
    summary="A job: your full view, or its status only for an anonymous poll",
    description=(
        "The owner (or an admin) gets the whole job. A request without a token (the "
        "frontend's 3-second poll) gets the status view: state and progress, no file name, "
        "content or glossary. Another signed-in user gets 404."
    ),
)
async def get_job(
    jobs: Jobs, identity: OptionalIdentity, job_id: JobId
) -> JobPublic | JobStatusView:
    if identity is None:
        return JobStatusView.of(await jobs.status_of(job_id))
    job, failures = await jobs.detail(identity, job_id)
    return JobPublic.of(job, failures)


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a job: its work stops, its files are removed",
)
async def delete_job(
    control: Control, identity: CurrentIdentity, job_id: JobId, background: BackgroundTasks
) -> Response:
    deleted = await control.delete(identity, job_id)
    # The files go once the deletion is committed (the commit precedes the response).
    background.add_task(control.remove_blobs, deleted)
    return Response(status_code=204)


@router.post(
    "/jobs/{job_id}/resume",
    response_model=JobPublic,
    summary="Resume a paused or failed job (optionally with a higher cap or another key)",
)
async def resume_job(
    control: Control, identity: CurrentIdentity, job_id: JobId, body: ResumeRequest | None = None
) -> JobPublic:
    body = body or ResumeRequest()
    job = await control.resume(
        identity, job_id, Resumption(max_tokens=body.max_tokens, provider=_provider_of(body))
    )
    return JobPublic.of(job)


def _provider_of(body: ResumeRequest) -> ProviderConfig | None:
    """The provider a resume or re-translation sends: only with a key (or Vertex)."""
    if not ((body.api_key or "").strip() or body.backup_api_keys or body.api_provider == "vertex"):
        return None
    return inputs.parse_provider(
        api_provider=body.api_provider,
        api_key=body.api_key,
        backup_api_keys=body.backup_api_keys,
        model_name=body.translation_model_name or body.model_name,
        api_base_url=body.api_base_url,
        requests_per_minute=body.requests_per_minute,
        thinking_level=body.thinking_level,
        provider_config=body.provider_config,
    )


@router.post(
    "/jobs/{job_id}/segments/retranslate",
    status_code=202,
    response_model=RetranslationPublic,
    summary="Translate chosen segments of a completed job again, then rebuild its files",
    description=(
        'Folio\'s extension. Choose the segments by `segment_indices`, `filter: "failed"` '
        "(those with units marked untranslated), `check` (those with a unit marked by that "
        "check: empty, untranslated, length, paragraphs, truncated, safety, bad_request) or "
        "`chapters` (`{first, last}`, inclusive). The job goes back to PROCESSING and "
        "completes again with new files; segments not chosen cost nothing, and a segment "
        "with marked units pays only for those. A job on your own provider needs its key "
        "again (its keys were erased when it completed)."
    ),
)
async def retranslate_segments(
    control: Control, identity: CurrentIdentity, job_id: JobId, body: RetranslateRequest
) -> RetranslationPublic:
    selection = Selection(
        indices=tuple(body.segment_indices) if body.segment_indices is not None else None,
        failed=body.filter == "failed",
        check=body.check,
        chapters=(body.chapters.first, body.chapters.last) if body.chapters else None,
    )
    job, indexes = await control.retranslate(identity, job_id, selection, _provider_of(body))
    assert job.id is not None
    return RetranslationPublic(job_id=job.id, status=job.status, segment_indices=indexes)


@router.post(
    "/jobs/{job_id}/cancel",
    response_model=JobPublic,
    summary="Cancel a job: no more model calls are made for it",
)
async def cancel_job(control: Control, identity: CurrentIdentity, job_id: JobId) -> JobPublic:
    return JobPublic.of(await control.cancel(identity, job_id))
