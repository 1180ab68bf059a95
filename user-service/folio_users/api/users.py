from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from folio.db import DbSession
from folio.identity import CurrentIdentity
from folio_users.api.deps import usage, users
from folio_users.schemas import RoleChange, TokenUsageDashboard, UserPublic

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", response_model=UserPublic, summary="The signed-in user")
async def me(request: Request, session: DbSession, identity: CurrentIdentity) -> UserPublic:
    service = users(request, session)
    return UserPublic.model_validate(await service.current_user(identity))


@router.get(
    "/me/token-usage",
    response_model=TokenUsageDashboard,
    summary="Tokens your jobs used, in total and per model, translation and illustrations",
)
async def token_usage(
    request: Request, session: DbSession, identity: CurrentIdentity
) -> TokenUsageDashboard:
    await users(request, session).current_user(identity)
    return await usage(session).dashboard(identity.user_id)


@router.put(
    "/{user_id}/role",
    response_model=UserPublic,
    summary="Change a user's role (administrators; admin roles by super administrators)",
)
async def change_role(
    request: Request,
    session: DbSession,
    identity: CurrentIdentity,
    user_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: RoleChange,
) -> UserPublic:
    service = users(request, session)
    actor = await service.current_user(identity)
    return UserPublic.model_validate(await service.change_role(actor, user_id, body.role))
