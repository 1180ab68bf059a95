"""What the routes share: the viewer, the outbox and the cache of a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from folio.db import DbSession
from folio.identity import CurrentIdentity, OptionalIdentity
from folio_community.policy import Viewer
from folio_community.service import (
    BoardService,
    CategoryService,
    CommentService,
    ImageService,
    PostService,
    viewer_for,
)

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


# The services of a request (the app state holds what they are built with).


def categories(request: Request, session: DbSession) -> CategoryService:
    return CategoryService(session, request.app.state.runtime.outbox)


def board(request: Request, session: DbSession) -> BoardService:
    return BoardService(session, request.app.state.read_cache)


def posts(request: Request, session: DbSession) -> PostService:
    return PostService(session, request.app.state.runtime.outbox)


def comments(request: Request, session: DbSession) -> CommentService:
    return CommentService(session, request.app.state.runtime.outbox)


def images(request: Request, session: DbSession) -> ImageService:
    return ImageService(session, request.app.state.storage)


async def _optional_viewer(session: DbSession, identity: OptionalIdentity) -> Viewer:
    return await viewer_for(session, identity)


async def _required_viewer(session: DbSession, identity: CurrentIdentity) -> Viewer:
    return await viewer_for(session, identity)


OptionalViewer = Annotated[Viewer, Depends(_optional_viewer)]
RequiredViewer = Annotated[Viewer, Depends(_required_viewer)]
