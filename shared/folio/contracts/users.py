"""Messages about users, published by user-service."""

from __future__ import annotations

from typing import ClassVar

from folio.contracts.base import Event


class _UserSnapshot(Event):
    """The fields other services may keep about a user (their read models)."""

    user_id: str
    # user-service's numeric id: the ``id`` of ``GET /users/me``, which the community
    # board shows as ``author.id`` (the frontend compares the two). Optional for
    # producers that predate it.
    account_id: int | None = None
    name: str | None = None
    email: str | None = None
    role: str = "user"


class UserCreated(_UserSnapshot):
    TYPE: ClassVar[str] = "users.user.created.v1"


class UserUpdated(_UserSnapshot):
    TYPE: ClassVar[str] = "users.user.updated.v1"


class UserDeleted(Event):
    TYPE: ClassVar[str] = "users.user.deleted.v1"

    user_id: str
