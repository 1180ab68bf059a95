"""Downloading a job's output files (every file is streamed)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from folio.contracts import OutputKind
from folio.filenames import content_disposition
from folio.identity import CurrentIdentity
from folio_translation.api.deps import Export, JobId, Logs, Outputs
from folio_translation.service import Download

router = APIRouter(tags=["jobs"])
EXPOSED = "Content-Disposition, content-disposition"


def file_response(file: Download) -> StreamingResponse:
    return StreamingResponse(
        file.chunks,
        media_type=file.media_type,
        headers={
            "Access-Control-Expose-Headers": EXPOSED,
            "Content-Disposition": content_disposition(file.filename),
        },
    )


@router.get("/download/{job_id}", summary="Download the translated book")
async def download(
    outputs: Outputs,
    identity: CurrentIdentity,
    job_id: JobId,
    format: Annotated[str | None, Query(description=", ".join(OutputKind))] = None,
) -> StreamingResponse:
    return file_response(await outputs.download(identity, job_id, format))


@router.get(
    "/jobs/{job_id}/output",
    summary="Download the translated book (the path the upstream frontend calls)",
)
async def job_output(
    outputs: Outputs,
    identity: CurrentIdentity,
    job_id: JobId,
    format: Annotated[str | None, Query(description=", ".join(OutputKind))] = None,
) -> StreamingResponse:
    return file_response(await outputs.download(identity, job_id, format))


PageSizeParam = Annotated[Literal["A4", "Letter"], Query(description="A4 or Letter")]
Position = Annotated[Literal["start", "middle", "end"], Query()]


@router.get("/jobs/{job_id}/pdf", summary="The translation as a PDF (A4 or Letter)")
async def download_pdf(
    export: Export,
    identity: CurrentIdentity,
    job_id: JobId,
    include_source: bool = True,
    include_illustrations: bool = True,
    page_size: PageSizeParam = "A4",
    illustration_position: Position = "middle",
) -> StreamingResponse:
    # Illustrations come with the illustrations issue; the parameters are accepted now.
    return file_response(
        await export.pdf(identity, job_id, page_size=page_size, include_source=include_source)
    )


@router.post("/export/{job_id}", summary="Export the translation: a PDF, or a download format")
async def export_job(
    export: Export,
    outputs: Outputs,
    identity: CurrentIdentity,
    job_id: JobId,
    format: Annotated[str, Query(max_length=20)] = "pdf",
    include_source: bool = True,
    include_illustrations: bool = True,
    page_size: PageSizeParam = "A4",
    illustration_position: Position = "middle",
) -> StreamingResponse:
    if format.lower() == "pdf":
        file = await export.pdf(
            identity, job_id, page_size=page_size, include_source=include_source
        )
    else:
        file = await outputs.download(identity, job_id, format)
    return file_response(file)


@router.get(
    "/jobs/{job_id}/logs/{log_type}",
    summary="The job's prompts or context log (plain text)",
)
async def job_log(
    logs: Logs, identity: CurrentIdentity, job_id: JobId, log_type: Literal["prompts", "context"]
) -> StreamingResponse:
    return file_response(await logs.log(identity, job_id, log_type))
