from __future__ import annotations

from fastapi import APIRouter, Request

from folio.db import DbSession
from folio.identity import CurrentIdentity
from folio_users.schemas import UserPublic
from folio_users.service import UserService

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=UserPublic, summary="The signed-in user")
async def me(request: Request, session: DbSession, identity: CurrentIdentity) -> UserPublic:
    service = UserService(session, request.app.state.runtime.outbox)
    return UserPublic.model_validate(await service.current_user(identity))
