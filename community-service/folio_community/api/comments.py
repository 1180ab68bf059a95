from __future__ import annotations

from fastapi import APIRouter, Request, Response

from folio.db import DbSession
from folio.identity import CurrentIdentity
from folio_community.api.deps import Id, OptionalViewer, RequiredViewer, comments
from folio_community.schemas import CommentCreate, CommentPublic, CommentUpdate

router = APIRouter(prefix="/api/v1/community", tags=["community"])


@router.get(
    "/posts/{post_id}/comments",
    response_model=list[CommentPublic],
    summary="The comments you can see, replies nested",
)
async def list_comments(
    request: Request, session: DbSession, viewer: OptionalViewer, post_id: Id
) -> list[CommentPublic]:
    return await comments(request, session).list(viewer, post_id)


@router.post(
    "/posts/{post_id}/comments",
    response_model=CommentPublic,
    status_code=201,
    summary="Comment on a post, or reply to a comment (parent_id)",
)
async def create_comment(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    viewer: RequiredViewer,
    post_id: Id,
    body: CommentCreate,
) -> CommentPublic:
    service = comments(request, session)
    return await service.create(viewer, identity.name, post_id, body)


@router.put("/comments/{comment_id}", response_model=CommentPublic, summary="Edit a comment")
async def update_comment(
    request: Request,
    session: DbSession,
    viewer: RequiredViewer,
    comment_id: Id,
    body: CommentUpdate,
) -> CommentPublic:
    return await comments(request, session).update(viewer, comment_id, body)


@router.delete(
    "/comments/{comment_id}", status_code=204, summary="Delete a comment and its replies"
)
async def delete_comment(
    request: Request, session: DbSession, viewer: RequiredViewer, comment_id: Id
) -> Response:
    await comments(request, session).delete(viewer, comment_id)
    return Response(status_code=204)
