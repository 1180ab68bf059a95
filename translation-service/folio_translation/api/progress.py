"""Following a job live (server-sent events), resumable with ``Last-Event-ID``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from folio.errors import Problem
from folio.identity import CurrentIdentity
from folio_translation.api.deps import JobId, Jobs, Progress
from folio_translation.service.progress import StreamEvent

router = APIRouter(tags=["jobs"])


def frame(event: StreamEvent) -> bytes:
    if not event.kind:
        return b": keep-alive\n\n"
    data = (
        event.data.model_dump_json()
        if isinstance(event.data, BaseModel)
        else json.dumps(event.data, ensure_ascii=False, default=str)
    )
    head = f"id: {event.id}\n" if event.id is not None else ""
    return f"{head}event: {event.kind}\ndata: {data}\n\n".encode()


def _resume_point(header: str | None, query: int | None) -> int | None:
    if query is not None:
        return query
    if header is None or not header.strip():
        return None
    if not header.strip().isdigit():
        raise Problem(422, "Last-Event-ID must be the id of an event this stream sent.")
    return int(header.strip())


@router.get(
    "/jobs/{job_id}/events",
    summary="Follow a job: its status changes, segment completions and the job itself",
    description=(
        "Server-sent events: `status` (a change of state), `segment` (a segment's "
        "translation was stored) and `job` (the job as it is now, at most twice a second). "
        "Each carries `id:`; reconnect with `Last-Event-ID` (or `?last_event_id=`) to get "
        "every event after it, without gaps. Without one, the stream starts from now."
    ),
    response_class=StreamingResponse,
)
async def job_events(
    request: Request,
    jobs: Jobs,
    progress: Progress,
    identity: CurrentIdentity,
    job_id: JobId,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    await jobs.visible_job(identity, job_id)  # 404 before streaming
    after = _resume_point(last_event_id_header, last_event_id)

    async def stream() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n\n"
        async for event in progress.follow(job_id, request.is_disconnected, after):
            yield frame(event)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
