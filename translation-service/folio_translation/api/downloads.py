"""Downloading a job's output files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from folio.contracts import OutputKind
from folio.filenames import content_disposition
from folio.identity import CurrentIdentity
from folio_translation.api.deps import JobId, Outputs

router = APIRouter(tags=["jobs"])


@router.get("/download/{job_id}", summary="Download the translated book")
async def download(
    outputs: Outputs,
    identity: CurrentIdentity,
    job_id: JobId,
    format: Annotated[str | None, Query(description=", ".join(OutputKind))] = None,
) -> StreamingResponse:
    file = await outputs.download(identity, job_id, format)
    return StreamingResponse(
        file.chunks,
        media_type=file.media_type,
        headers={
            "Access-Control-Expose-Headers": "Content-Disposition",
            "Content-Disposition": content_disposition(file.filename),
        },
    )
