"""Tables of the ``users`` schema: users, announcements, webhook receipts, usage."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Integer, Text, func, text
from sqlmodel import Field

from folio.db import new_registry_base
from folio.db.messaging_tables import add_messaging_tables

Base = new_registry_base()
metadata = Base.metadata
MESSAGING = add_messaging_tables(metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UserBase(Base):
    email: str | None = Field(default=None, max_length=320, index=True)
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
    # Null until the row first changes (as upstream).
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class AnnouncementBase(Base):
    message: str = Field(sa_column=Column(Text, nullable=False))
    is_active: bool = Field(default=True)


class Announcement(AnnouncementBase, table=True):
    __tablename__ = "announcements"
    # At most one active announcement, whatever the concurrency.
    __table_args__ = (
        Index(
            "uq_announcements_one_active",
            "is_active",
            unique=True,
            postgresql_where=text("is_active"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class WebhookReceipt(Base, table=True):
    """A webhook message applied once: its sender's message id (``svix-id``)."""

    __tablename__ = "webhook_receipts"

    message_id: str = Field(primary_key=True, max_length=255)
    event_type: str = Field(max_length=100)
    received_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(
            DateTime(timezone=True), nullable=False, server_default=func.now(), index=True
        ),
    )


class UsageRecord(Base, table=True):
    """Read model of translation-service's ``translation.usage.recorded.v1`` events."""

    __tablename__ = "usage_records"

    # The producer's id for the call(s): each is counted once, however often delivered.
    usage_id: str = Field(primary_key=True, max_length=255)
    user_id: str = Field(max_length=255, index=True)
    job_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    model: str = Field(max_length=200)
    category: str = Field(max_length=20)
    phase: str = Field(max_length=40)
    calls: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    input_tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    output_tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    thinking_tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    cached_input_tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    images: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
