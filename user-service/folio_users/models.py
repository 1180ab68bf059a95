"""Tables of the ``users`` schema."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, func
from sqlmodel import Field

from folio.db import new_registry_base
from folio.db.messaging_tables import add_messaging_tables

Base = new_registry_base()
metadata = Base.metadata
MESSAGING = add_messaging_tables(metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UserBase(Base):
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="user", max_length=20)


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    # The identity provider's subject (Clerk user id); the key every service shares.
    clerk_user_id: str = Field(max_length=255, unique=True, index=True)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
