"""What the routes share: the services of a request and the announcement guard."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from folio.db import DbSession
from folio.errors import Problem
from folio.identity import ADMIN_ROLES, OptionalIdentity
from folio_users.service import AnnouncementService, UsageService, UserService

# The services of a request (the app state holds what they are built with).


def users(request: Request, session: DbSession) -> UserService:
    return UserService(session, request.app.state.runtime.outbox)


def announcements(request: Request, session: DbSession) -> AnnouncementService:
    state = request.app.state
    return AnnouncementService(session, state.runtime.outbox, state.announcement_cache)


def usage(session: DbSession) -> UsageService:
    return UsageService(session)


async def announcement_admin(
    request: Request,
    session: DbSession,
    identity: OptionalIdentity,
    x_admin_secret: Annotated[str | None, Header()] = None,
) -> None:
    """The upstream's admin secret header (compared in constant time), or an
    administrator's role as user-service knows it."""
    secret = request.app.state.settings.admin_secret
    if secret is not None and x_admin_secret is not None:
        if hmac.compare_digest(x_admin_secret.encode(), secret.get_secret_value().encode()):
            return
    if identity is not None:
        user = await users(request, session).current_user(identity)
        if user.role in ADMIN_ROLES:
            return
    raise Problem(403, "Invalid or missing admin secret key")


AnnouncementAdmin = Annotated[None, Depends(announcement_admin)]
