"""What the routes share: the services of a request and the announcement guard."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from folio.cache import ReadCache
from folio.db import DbSession
from folio.errors import Problem
from folio.identity import ADMIN_ROLES, OptionalIdentity
from folio.messaging import Outbox
from folio_users.service import UserService


def outbox(request: Request) -> Outbox:
    box = request.app.state.runtime.outbox
    assert box is not None
    return box


def announcement_cache(request: Request) -> ReadCache:
    return request.app.state.announcement_cache


async def announcement_admin(
    request: Request,
    session: DbSession,
    identity: OptionalIdentity,
    x_admin_secret: Annotated[str | None, Header()] = None,
) -> None:
    """The upstream's admin secret header (compared in constant time), or an
    administrator's role as user-service knows it."""
    secret = request.app.state.settings.admin_secret_key
    if secret is not None and x_admin_secret is not None:
        if hmac.compare_digest(x_admin_secret.encode(), secret.get_secret_value().encode()):
            return
    if identity is not None:
        user = await UserService(session, outbox(request)).current_user(identity)
        if user.role in ADMIN_ROLES:
            return
    raise Problem(403, "Invalid or missing admin secret key")


AnnouncementAdmin = Annotated[None, Depends(announcement_admin)]
