"""Messages about users, published by user-service."""

from __future__ import annotations

from typing import ClassVar

from folio.contracts.base import Event


class UserCreated(Event):
    TYPE: ClassVar[str] = "users.user.created.v1"

    user_id: str
    name: str | None = None
    email: str | None = None
    role: str = "user"


class UserUpdated(Event):
    TYPE: ClassVar[str] = "users.user.updated.v1"

    user_id: str
    name: str | None = None
    email: str | None = None
    role: str = "user"


class UserDeleted(Event):
    TYPE: ClassVar[str] = "users.user.deleted.v1"

    user_id: str
