"""Tables of the ``community`` schema: categories, posts, comments, images, authors."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field

from folio.db import new_registry_base
from folio.db.messaging_tables import add_messaging_tables

Base = new_registry_base()
metadata = Base.metadata
MESSAGING = add_messaging_tables(metadata)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at() -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class CategoryBase(Base):
    name: str = Field(max_length=50, unique=True)
    display_name: str = Field(max_length=100)
    description: str | None = Field(default=None, sa_column=Column(Text))
    is_admin_only: bool = Field(default=False)
    order: int = Field(default=0)


class Category(CategoryBase, table=True):
    __tablename__ = "categories"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())


class Author(Base, table=True):
    """Read model of user-service's users, fed by ``users.user.*`` events.

    ``updated_at`` is the time of the event that wrote the row: an older event arriving
    late never overwrites a newer one. A deleted account keeps a row (``deleted``, name
    erased) so a late event cannot bring it back.
    """

    __tablename__ = "authors"

    user_id: str = Field(primary_key=True, max_length=255)
    # user-service's numeric id (the API's author.id); unknown until its event arrives.
    account_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="user", max_length=20)
    deleted: bool = Field(default=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class Post(Base, table=True):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_board_order", "category_id", "is_pinned", "created_at"),
        Index("ix_posts_author", "author_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    content: str = Field(sa_column=Column(Text, nullable=False))
    # The author's identity-provider subject; NULL once the account is deleted.
    author_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    category_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("categories.id", ondelete="RESTRICT"), nullable=False
        )
    )
    is_pinned: bool = Field(default=False)
    is_private: bool = Field(default=False)
    view_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    images: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class Comment(Base, table=True):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_post", "post_id", "created_at"),
        Index("ix_comments_author", "author_id"),
        Index("ix_comments_parent", "parent_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    content: str = Field(sa_column=Column(Text, nullable=False))
    author_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    post_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False)
    )
    parent_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("comments.id", ondelete="CASCADE"), nullable=True),
    )
    is_private: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class Image(Base, table=True):
    """An uploaded image, re-encoded and stored under a generated name."""

    __tablename__ = "images"

    name: str = Field(primary_key=True, max_length=64)
    storage_key: str = Field(max_length=200)
    uploader_id: str | None = Field(default=None, max_length=255, index=True)
    content_type: str = Field(max_length=50)
    size: int = Field(sa_column=Column(Integer, nullable=False))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    height: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_created_at())
