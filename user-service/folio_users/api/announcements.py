"""Announcements at the upstream's ``/community/announcements*`` paths (owned here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from folio.db import DbSession
from folio_users.api.deps import AnnouncementAdmin, announcements
from folio_users.live import AnnouncementFeed
from folio_users.schemas import AnnouncementCreate, AnnouncementPublic

router = APIRouter(prefix="/api/v1/community/announcements", tags=["announcements"])
AnnouncementId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=list[AnnouncementPublic], summary="Announcements")
async def list_announcements(
    request: Request,
    session: DbSession,
    active_only: Annotated[bool, Query(description="Only return active announcements")] = True,
    limit: Annotated[int, Query(ge=1, le=100, description="Maximum announcements to return")] = 10,
) -> Response:
    body = await announcements(request, session).listing(active_only, limit)
    return Response(body, media_type="application/json")


@router.get(
    "/stream",
    summary="Server-sent events: the active announcements now and after every change",
    response_class=EventSourceResponse,
)
async def stream_announcements(
    request: Request,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    feed: AnnouncementFeed = request.app.state.announcement_feed
    settings = request.app.state.settings

    async def events() -> AsyncIterator[ServerSentEvent]:
        sent = last_event_id
        with feed.subscribe() as subscriber:
            while True:
                subscriber.changed.clear()
                state = feed.state
                if state is not None and state.id != sent:
                    # Unnamed (no "event:"): the upstream frontend listens with onmessage.
                    yield ServerSentEvent(data=state.data, id=state.id)
                    sent = state.id
                await subscriber.changed.wait()

    return EventSourceResponse(
        events(),
        ping=settings.announcement_heartbeat_s,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "",
    response_model=AnnouncementPublic,
    status_code=201,
    summary="Publish an announcement (the others are deactivated when it is active)",
)
async def create_announcement(
    request: Request, session: DbSession, _: AnnouncementAdmin, body: AnnouncementCreate
) -> AnnouncementPublic:
    return AnnouncementPublic.model_validate(await announcements(request, session).create(body))


@router.put("/{announcement_id}", response_model=AnnouncementPublic, summary="Edit an announcement")
async def update_announcement(
    request: Request,
    session: DbSession,
    _: AnnouncementAdmin,
    announcement_id: AnnouncementId,
    body: AnnouncementCreate,
) -> AnnouncementPublic:
    announcement = await announcements(request, session).update(announcement_id, body)
    return AnnouncementPublic.model_validate(announcement)


@router.delete("/{announcement_id}", status_code=204, summary="Delete an announcement")
async def delete_announcement(
    request: Request, session: DbSession, _: AnnouncementAdmin, announcement_id: AnnouncementId
) -> Response:
    await announcements(request, session).delete(announcement_id)
    return Response(status_code=204)
