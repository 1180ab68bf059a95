"""Following a job live (server-sent events)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from folio.identity import CurrentIdentity
from folio_translation.api.deps import JobId, Jobs, Progress

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}/events",
    summary="Follow a job: a server-sent event with the job each time it changes",
    response_class=StreamingResponse,
)
async def job_events(
    request: Request, jobs: Jobs, progress: Progress, identity: CurrentIdentity, job_id: JobId
) -> StreamingResponse:
    await jobs.visible_job(identity, job_id)  # 404 before streaming

    async def stream() -> AsyncIterator[bytes]:
        async for job in progress.follow(job_id, request.is_disconnected):
            if job is None:
                yield b": keep-alive\n\n"
            else:
                yield b"event: job\ndata: " + job.model_dump_json().encode() + b"\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
