"""Messages about the community board, published by community-service.

They identify what changed and who may see it, never the text: a private post's content
stays in community-service. Today their consumer is community-service itself (its shared
read cache is invalidated by them, whichever replica made the change).
"""

from __future__ import annotations

from typing import ClassVar

from folio.contracts.base import Event


class _CategoryChange(Event):
    category_id: int


class CategoryCreated(_CategoryChange):
    TYPE: ClassVar[str] = "community.category.created.v1"


class CategoryUpdated(_CategoryChange):
    TYPE: ClassVar[str] = "community.category.updated.v1"


class CategoryDeleted(_CategoryChange):
    TYPE: ClassVar[str] = "community.category.deleted.v1"


class _PostChange(Event):
    post_id: int
    category_id: int
    # The author's identity-provider subject; None once the author's account is deleted.
    author_id: str | None = None
    is_private: bool = False


class PostCreated(_PostChange):
    TYPE: ClassVar[str] = "community.post.created.v1"


class PostUpdated(_PostChange):
    TYPE: ClassVar[str] = "community.post.updated.v1"


class PostDeleted(_PostChange):
    TYPE: ClassVar[str] = "community.post.deleted.v1"


class _CommentChange(Event):
    comment_id: int
    post_id: int
    parent_id: int | None = None
    is_private: bool = False


class CommentCreated(_CommentChange):
    TYPE: ClassVar[str] = "community.comment.created.v1"


class CommentUpdated(_CommentChange):
    TYPE: ClassVar[str] = "community.comment.updated.v1"


class CommentDeleted(_CommentChange):
    TYPE: ClassVar[str] = "community.comment.deleted.v1"


# Every change to the board, in one place: what community-service's queue binds and what
# invalidates its read cache.
BOARD_EVENTS: tuple[type[Event], ...] = (
    CategoryCreated,
    CategoryUpdated,
    CategoryDeleted,
    PostCreated,
    PostUpdated,
    PostDeleted,
    CommentCreated,
    CommentUpdated,
    CommentDeleted,
)
