"""API shapes of community-service (the upstream's field names, plus ``content_html``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from folio.html import render_html
from folio.timestamps import Timestamp

MAX_IMAGES = 10


class CategoryCreate(BaseModel):
    name: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    display_name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    is_admin_only: bool = False
    order: int = Field(default=0, ge=-1_000_000, le=1_000_000)


class CategoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    display_name: str
    description: str | None = None
    is_admin_only: bool = False
    order: int = 0
    created_at: Timestamp


class AuthorSummary(BaseModel):
    """user-service's numeric id and name; ``id`` 0 and no name once the account is
    deleted (or before user-service has told us the id)."""

    id: int
    name: str | None = None


class _Dated(BaseModel):
    created_at: Timestamp
    updated_at: Timestamp | None = None


class CommentPublic(_Dated):
    id: int
    content: str
    parent_id: int | None = None
    is_private: bool = False
    author: AuthorSummary
    post_id: int
    replies: list[CommentPublic] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_html(self) -> str:
        return render_html(self.content)


class PostSummary(_Dated):
    id: int
    title: str
    author: AuthorSummary
    is_pinned: bool
    is_private: bool
    view_count: int
    comment_count: int = 0
    images: list[str] = Field(default_factory=list)


class PostListItem(PostSummary):
    category: CategoryPublic


class PostPublic(PostListItem):
    content: str
    category_id: int
    comments: list[CommentPublic] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_html(self) -> str:
        return render_html(self.content)


class CategoryOverview(CategoryPublic):
    total_posts: int
    can_post: bool
    recent_posts: list[PostSummary] = Field(default_factory=list)


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class PostCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1, max_length=50_000)
    category_id: int = Field(ge=1, le=2**63 - 1)
    is_pinned: bool = False
    is_private: bool = False
    images: list[str] = Field(default_factory=list, max_length=MAX_IMAGES)

    @field_validator("title", "content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _text(value)


class PostUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1, max_length=50_000)
    is_private: bool | None = None
    is_pinned: bool | None = None
    images: list[str] | None = Field(default=None, max_length=MAX_IMAGES)

    @field_validator("title", "content")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        return None if value is None else _text(value)


class CommentCreate(BaseModel):
    content: str = Field(min_length=1, max_length=10_000)
    # Required by the upstream contract, and overwritten by the path's post id.
    post_id: int
    parent_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    is_private: bool = False

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        return _text(value)


class CommentUpdate(BaseModel):
    content: str | None = Field(default=None, min_length=1, max_length=10_000)
    is_private: bool | None = None

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        return None if value is None else _text(value)


class ViewCount(BaseModel):
    view_count: int


class ImageUploaded(BaseModel):
    url: str
    filename: str
    size: int
    hash: str
    content_type: str
    width: int
    height: int
