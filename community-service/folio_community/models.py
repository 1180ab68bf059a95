"""Tables of the ``community`` schema."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Text, func
from sqlmodel import Field

from folio.db import new_registry_base
from folio.db.messaging_tables import add_messaging_tables

Base = new_registry_base()
metadata = Base.metadata
MESSAGING = add_messaging_tables(metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


class CategoryBase(Base):
    name: str = Field(max_length=50, unique=True)
    display_name: str = Field(max_length=100)
    description: str | None = Field(default=None, sa_column=Column(Text))
    is_admin_only: bool = Field(default=False)
    order: int = Field(default=0)


class Category(CategoryBase, table=True):
    __tablename__ = "categories"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class Author(Base, table=True):
    """Read model of user-service's users, fed by ``users.user.*`` events."""

    __tablename__ = "authors"

    user_id: str = Field(primary_key=True, max_length=255)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="user", max_length=20)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
