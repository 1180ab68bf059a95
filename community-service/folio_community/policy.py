"""Who may see and do what on the board: every rule in one place.

* A post is visible to everyone when public; a private post only to its author and
  administrators.
* A comment is visible when its post is, and, when private, only to its author, the
  post's author and administrators; a comment whose parent is hidden from a viewer is
  hidden too, at every depth (a reply cannot be shown without what it answers).
* Posting needs a signed-in user; an admin-only category needs an administrator.
* Editing a post or changing its privacy: its author or an administrator; pinning:
  administrators only. Editing a comment: its author or an administrator; deleting a
  comment: its author, the post's author or an administrator.
* ``DELETE /admin/posts/{id}`` (any post): moderators and administrators.
* Categories are managed by administrators. ``super_admin`` counts as administrator.

The same predicates serve single reads (Python) and lists (:func:`visible_posts`, SQL);
the privacy matrix test checks both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, false, or_, true

from folio.identity import ADMIN_ROLES
from folio_community.models import Post

MODERATION_ROLES = frozenset({"moderator", *ADMIN_ROLES})


@dataclass(frozen=True)
class Viewer:
    """The caller: anonymous (``user_id`` None) or a user with their effective role."""

    user_id: str | None = None
    role: str = "user"

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return self.signed_in and self.role in ADMIN_ROLES

    @property
    def can_moderate(self) -> bool:
        return self.signed_in and self.role in MODERATION_ROLES

    def is_(self, author_id: str | None) -> bool:
        return self.user_id is not None and author_id == self.user_id

    @property
    def cache_scope(self) -> str:
        """Viewers who see exactly the same board share a cache scope, no one else."""
        if not self.signed_in:
            return "anonymous"
        if self.is_admin:
            return "admin"
        return f"user:{self.user_id}"


ANONYMOUS = Viewer()


class _PostLike(Protocol):
    author_id: str | None
    is_private: bool


class _CommentLike(Protocol):
    id: int | None
    parent_id: int | None
    author_id: str | None
    is_private: bool


def can_view_post(viewer: Viewer, post: _PostLike) -> bool:
    return not post.is_private or viewer.is_admin or viewer.is_(post.author_id)


def visible_posts(viewer: Viewer) -> ColumnElement[bool]:
    """:func:`can_view_post` as a SQL condition on ``posts``."""
    if viewer.is_admin:
        return true()
    if viewer.user_id is None:
        return Post.is_private == false()  # type: ignore[return-value]
    return or_(Post.is_private == false(), Post.author_id == viewer.user_id)  # type: ignore[arg-type]


def can_view_comment(viewer: Viewer, comment: _CommentLike, post: _PostLike) -> bool:
    """The comment itself (its ancestors are checked by :func:`visible_comments`)."""
    if not comment.is_private or viewer.is_admin:
        return True
    return viewer.is_(comment.author_id) or viewer.is_(post.author_id)


C = TypeVar("C", bound=_CommentLike)


def visible_comments(viewer: Viewer, post: _PostLike, comments: Iterable[C]) -> list[C]:
    """The comments ``viewer`` may see: each visible itself and under a visible parent."""
    by_id = {c.id: c for c in comments}
    verdict: dict[int | None, bool] = {}

    def visible(comment: C) -> bool:
        chain: list[C] = []
        node: C | None = comment
        while node is not None and node.id not in verdict:
            chain.append(node)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        # Everything above the chain is decided; decide the chain from the top down.
        above = True if node is None else verdict[node.id]
        for item in reversed(chain):
            above = above and can_view_comment(viewer, item, post)
            verdict[item.id] = above
        return verdict[comment.id]

    return [c for c in by_id.values() if visible(c)]


def can_post_in(viewer: Viewer, is_admin_only: bool) -> bool:
    return viewer.signed_in and (not is_admin_only or viewer.is_admin)


def can_edit_post(viewer: Viewer, post: _PostLike) -> bool:
    return viewer.is_admin or viewer.is_(post.author_id)


def can_edit_comment(viewer: Viewer, comment: _CommentLike) -> bool:
    return viewer.is_admin or viewer.is_(comment.author_id)


def can_delete_comment(viewer: Viewer, comment: _CommentLike, post: _PostLike) -> bool:
    return viewer.is_admin or viewer.is_(comment.author_id) or viewer.is_(post.author_id)
