from __future__ import annotations

from fastapi import APIRouter

from folio.db import DbSession
from folio_community.schemas import CategoryPublic
from folio_community.service import CommunityService

router = APIRouter(prefix="/api/v1/community", tags=["community"])


@router.get("/categories", response_model=list[CategoryPublic], summary="Board categories")
async def list_categories(session: DbSession) -> list[CategoryPublic]:
    categories = await CommunityService(session).list_categories()
    return [CategoryPublic.model_validate(c) for c in categories]
