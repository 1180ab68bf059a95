from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from folio.db import DbSession
from folio.identity import CurrentIdentity
from folio_community.api.deps import Id, OptionalViewer, RequiredViewer, board, posts
from folio_community.schemas import PostCreate, PostListItem, PostPublic, PostUpdate, ViewCount

BatchId = Annotated[int, Field(ge=1, le=2**63 - 1)]
router = APIRouter(prefix="/api/v1/community/posts", tags=["community"])


@router.get(
    "",
    response_model=list[PostListItem],
    summary="Posts of a category you can see (pinned first, newest first); X-Total-Count",
)
async def list_posts(
    request: Request,
    session: DbSession,
    viewer: OptionalViewer,
    category: Annotated[str, Query(description="Category name to filter by", max_length=50)],
    search: Annotated[str | None, Query(description="Search query", max_length=200)] = None,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    total, body = await board(request, session).list_posts(
        viewer, category, search or None, skip, limit
    )
    return Response(body, media_type="application/json", headers={"X-Total-Count": str(total)})


@router.get(
    "/batch",
    response_model=list[PostPublic],
    summary="Several posts with their comments, those you can see (in the order asked)",
    description=(
        "Posts that do not exist or that you may not see are left out, as they are from "
        "listings; each carries the comments you may see, replies nested."
    ),
)
async def batch_posts(
    request: Request,
    session: DbSession,
    viewer: OptionalViewer,
    ids: Annotated[list[BatchId], Query(min_length=1, max_length=100)],
) -> list[PostPublic]:
    return await posts(request, session).details(viewer, ids)


@router.post("", response_model=PostPublic, status_code=201, summary="Write a post")
async def create_post(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    viewer: RequiredViewer,
    body: PostCreate,
) -> PostPublic:
    service = posts(request, session)
    post = await service.create(viewer, identity.name, body)
    return await service.detail(viewer, post)


@router.get("/{post_id}", response_model=PostPublic, summary="A post with its comments")
async def get_post(
    request: Request, session: DbSession, viewer: OptionalViewer, post_id: Id
) -> PostPublic:
    service = posts(request, session)
    return await service.detail(viewer, await service.visible(viewer, post_id))


@router.put("/{post_id}", response_model=PostPublic, summary="Edit a post")
async def update_post(
    request: Request, session: DbSession, viewer: RequiredViewer, post_id: Id, body: PostUpdate
) -> PostPublic:
    service = posts(request, session)
    return await service.detail(viewer, await service.update(viewer, post_id, body))


@router.delete("/{post_id}", status_code=204, summary="Delete a post (and its comments)")
async def delete_post(
    request: Request, session: DbSession, viewer: RequiredViewer, post_id: Id
) -> Response:
    await posts(request, session).delete(viewer, post_id)
    return Response(status_code=204)


@router.post("/{post_id}/view", response_model=ViewCount, summary="Count a view")
async def count_view(
    request: Request, session: DbSession, viewer: OptionalViewer, post_id: Id
) -> ViewCount:
    count = await posts(request, session).count_view(viewer, post_id)
    return ViewCount(view_count=count)
