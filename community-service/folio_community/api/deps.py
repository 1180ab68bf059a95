"""What the routes share: the viewer, the outbox and the cache of a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from folio.cache import ReadCache
from folio.db import DbSession
from folio.identity import CurrentIdentity, OptionalIdentity
from folio.messaging import Outbox
from folio_community.policy import Viewer
from folio_community.service import viewer_for

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


def outbox(request: Request) -> Outbox:
    box = request.app.state.runtime.outbox
    assert box is not None
    return box


def cache(request: Request) -> ReadCache:
    return request.app.state.read_cache


async def _optional_viewer(session: DbSession, identity: OptionalIdentity) -> Viewer:
    return await viewer_for(session, identity)


async def _required_viewer(session: DbSession, identity: CurrentIdentity) -> Viewer:
    return await viewer_for(session, identity)


OptionalViewer = Annotated[Viewer, Depends(_optional_viewer)]
RequiredViewer = Annotated[Viewer, Depends(_required_viewer)]
