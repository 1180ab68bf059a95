from __future__ import annotations

from fastapi import APIRouter, Request, Response

from folio.db import DbSession
from folio_community.api.deps import Id, OptionalViewer, RequiredViewer, board, categories
from folio_community.schemas import CategoryCreate, CategoryOverview, CategoryPublic

router = APIRouter(prefix="/api/v1/community/categories", tags=["community"])


@router.get("", response_model=list[CategoryPublic], summary="Board categories")
async def list_categories(request: Request, session: DbSession) -> list[CategoryPublic]:
    listed = await categories(request, session).list()
    return [CategoryPublic.model_validate(c) for c in listed]


@router.get(
    "/overview",
    response_model=list[CategoryOverview],
    summary="Categories with the posts you can see: counts and the latest ones",
)
async def categories_overview(
    request: Request, session: DbSession, viewer: OptionalViewer
) -> Response:
    body = await board(request, session).overview(viewer)
    return Response(body, media_type="application/json")


@router.get("/{category_id}", response_model=CategoryPublic, summary="One category")
async def get_category(request: Request, session: DbSession, category_id: Id) -> CategoryPublic:
    category = await categories(request, session).get(category_id)
    return CategoryPublic.model_validate(category)


@router.post("", response_model=CategoryPublic, status_code=201, summary="Create a category")
async def create_category(
    request: Request, session: DbSession, viewer: RequiredViewer, body: CategoryCreate
) -> CategoryPublic:
    category = await categories(request, session).create(viewer, body)
    return CategoryPublic.model_validate(category)


@router.put("/{category_id}", response_model=CategoryPublic, summary="Replace a category")
async def update_category(
    request: Request,
    session: DbSession,
    viewer: RequiredViewer,
    category_id: Id,
    body: CategoryCreate,
) -> CategoryPublic:
    category = await categories(request, session).replace(viewer, category_id, body)
    return CategoryPublic.model_validate(category)


@router.delete("/{category_id}", status_code=204, summary="Delete an empty category")
async def delete_category(
    request: Request, session: DbSession, viewer: RequiredViewer, category_id: Id
) -> Response:
    await categories(request, session).delete(viewer, category_id)
    return Response(status_code=204)
