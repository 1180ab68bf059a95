from __future__ import annotations

from fastapi import APIRouter, Request, Response

from folio.db import DbSession
from folio_community.api.deps import Id, OptionalViewer, RequiredViewer, cache, outbox
from folio_community.schemas import CategoryCreate, CategoryOverview, CategoryPublic
from folio_community.service import BoardService, CategoryService

router = APIRouter(prefix="/api/v1/community/categories", tags=["community"])


@router.get("", response_model=list[CategoryPublic], summary="Board categories")
async def list_categories(request: Request, session: DbSession) -> list[CategoryPublic]:
    categories = await CategoryService(session, outbox(request)).list()
    return [CategoryPublic.model_validate(c) for c in categories]


@router.get(
    "/overview",
    response_model=list[CategoryOverview],
    summary="Categories with the posts you can see: counts and the latest ones",
)
async def categories_overview(
    request: Request, session: DbSession, viewer: OptionalViewer
) -> Response:
    body = await BoardService(session, cache(request)).overview(viewer)
    return Response(body, media_type="application/json")


@router.get("/{category_id}", response_model=CategoryPublic, summary="One category")
async def get_category(request: Request, session: DbSession, category_id: Id) -> CategoryPublic:
    category = await CategoryService(session, outbox(request)).get(category_id)
    return CategoryPublic.model_validate(category)


@router.post("", response_model=CategoryPublic, status_code=201, summary="Create a category")
async def create_category(
    request: Request, session: DbSession, viewer: RequiredViewer, body: CategoryCreate
) -> CategoryPublic:
    category = await CategoryService(session, outbox(request)).create(viewer, body)
    return CategoryPublic.model_validate(category)


@router.put("/{category_id}", response_model=CategoryPublic, summary="Replace a category")
async def update_category(
    request: Request,
    session: DbSession,
    viewer: RequiredViewer,
    category_id: Id,
    body: CategoryCreate,
) -> CategoryPublic:
    category = await CategoryService(session, outbox(request)).replace(viewer, category_id, body)
    return CategoryPublic.model_validate(category)


@router.delete("/{category_id}", status_code=204, summary="Delete an empty category")
async def delete_category(
    request: Request, session: DbSession, viewer: RequiredViewer, category_id: Id
) -> Response:
    await CategoryService(session, outbox(request)).delete(viewer, category_id)
    return Response(status_code=204)
