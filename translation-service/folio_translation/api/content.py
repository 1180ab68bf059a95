"""A job's text: its segments, a page at a time, and its whole content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from folio.identity import CurrentIdentity
from folio_translation.api.deps import Content, JobId
from folio_translation.schemas import SegmentsPage

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}/segments",
    response_model=SegmentsPage,
    summary="Source and translation of each segment, a page at a time",
)
async def get_job_segments(
    content: Content,
    identity: CurrentIdentity,
    job_id: JobId,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> SegmentsPage:
    return await content.segments_page(identity, job_id, offset, limit)


@router.get(
    "/jobs/{job_id}/content",
    summary="The whole translation and source of a completed job",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "job_id": 1,
                        "status": "COMPLETED",
                        "filename": "book.txt",
                        "completed_at": "2026-01-01T00:00:00+00:00",
                        "content": "...",
                        "source_content": "...",
                        "segments": [],
                    }
                }
            }
        }
    },
)
async def get_job_content(
    content: Content, identity: CurrentIdentity, job_id: JobId
) -> StreamingResponse:
    job = await content.readable_job(identity, job_id)
    return StreamingResponse(content.content(job), media_type="application/json")
