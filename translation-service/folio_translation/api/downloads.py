"""Downloading a job's output files (every file is streamed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from folio.contracts import OutputKind
from folio.filenames import content_disposition
from folio.identity import CurrentIdentity
from folio_translation.api.deps import JobId, Outputs
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
