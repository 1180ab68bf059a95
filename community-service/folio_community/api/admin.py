from __future__ import annotations

from fastapi import APIRouter, Request, Response

from folio.db import DbSession
from folio_community.api.deps import Id, RequiredViewer, posts

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.delete(
    "/posts/{post_id}", status_code=204, summary="Delete any post (moderators, administrators)"
)
async def delete_any_post(
    request: Request, session: DbSession, viewer: RequiredViewer, post_id: Id
) -> Response:
    await posts(request, session).delete_any(viewer, post_id)
    return Response(status_code=204)
