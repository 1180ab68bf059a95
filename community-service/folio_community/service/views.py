"""Turning rows into the API's shapes: authors, visible comment trees, comment counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from folio_community.models import Author, Category, Comment, Post
from folio_community.policy import Viewer, visible_comments
from folio_community.repository import AuthorRepository, CommentRepository
from folio_community.schemas import (
    AuthorSummary,
    CategoryPublic,
    CommentPublic,
    PostListItem,
    PostPublic,
    PostSummary,
)

NOBODY = AuthorSummary(id=0, name=None)


class Presenter:
    def __init__(self, session: AsyncSession) -> None:
        self.authors = AuthorRepository(session)
        self.comments = CommentRepository(session)

    async def authors_of(self, rows: Iterable[Any]) -> dict[str, Author]:
        return await self.authors.many({r.author_id for r in rows if r.author_id})

    @staticmethod
    def author(author_id: str | None, authors: dict[str, Author]) -> AuthorSummary:
        author = authors.get(author_id) if author_id else None
        if author is None or author.deleted:
            return NOBODY
        return AuthorSummary(id=author.account_id or 0, name=author.name)

    @staticmethod
    def comment(comment: Comment, authors: dict[str, Author]) -> CommentPublic:
        """One comment, without its replies."""
        return CommentPublic(
            id=comment.id,  # type: ignore[arg-type]
            content=comment.content,
            parent_id=comment.parent_id,
            is_private=comment.is_private,
            author=Presenter.author(comment.author_id, authors),
            post_id=comment.post_id,
            created_at=comment.created_at,
            updated_at=comment.updated_at,
        )

    async def comment_counts(self, viewer: Viewer, posts: list[Post]) -> dict[int, int]:
        """Comments each post shows this viewer (private ones and hidden threads excluded)."""
        by_post: dict[int, list[Any]] = defaultdict(list)
        for row in await self.comments.skeletons([p.id for p in posts if p.id is not None]):
            by_post[row.post_id].append(row)
        return {
            post.id: len(visible_comments(viewer, post, by_post.get(post.id, [])))  # type: ignore[misc]
            for post in posts
        }

    def tree(
        self, viewer: Viewer, post: Post, comments: list[Comment], authors: dict[str, Author]
    ) -> list[CommentPublic]:
        """Top-level comments in order, each with its visible replies nested."""
        visible = visible_comments(viewer, post, comments)
        nodes = {c.id: self.comment(c, authors) for c in visible}
        roots: list[CommentPublic] = []
        for comment in visible:  # already in created_at order
            node = nodes[comment.id]
            parent = nodes.get(comment.parent_id) if comment.parent_id is not None else None
            (parent.replies if parent is not None else roots).append(node)
        return roots

    async def comments_of(self, viewer: Viewer, post: Post) -> list[CommentPublic]:
        assert post.id is not None
        comments = await self.comments.of_post(post.id)
        authors = await self.authors_of(comments)
        return self.tree(viewer, post, comments, authors)

    @staticmethod
    def summary(post: Post, authors: dict[str, Author], comment_count: int) -> PostSummary:
        return PostSummary(**_post_fields(post, authors, comment_count))

    @staticmethod
    def list_item(
        post: Post, category: Category, authors: dict[str, Author], comment_count: int
    ) -> PostListItem:
        return PostListItem(
            **_post_fields(post, authors, comment_count),
            category=CategoryPublic.model_validate(category),
        )

    async def detail(self, viewer: Viewer, post: Post, category: Category) -> PostPublic:
        assert post.id is not None
        rows = await self.comments.of_post(post.id)
        # The post's and the comments' authors in one statement: a user deleted between
        # two reads would otherwise show as deleted on the post and by name on a comment.
        authors = await self.authors_of([post, *rows])
        comments = self.tree(viewer, post, rows, authors)
        return PostPublic(
            **_post_fields(post, authors, _count(comments)),
            category=CategoryPublic.model_validate(category),
            content=post.content,
            category_id=post.category_id,
            comments=comments,
        )


def _count(comments: list[CommentPublic]) -> int:
    return sum(1 + _count(c.replies) for c in comments)


def _post_fields(post: Post, authors: dict[str, Author], comment_count: int) -> dict[str, Any]:
    return {
        "id": post.id,
        "title": post.title,
        "author": Presenter.author(post.author_id, authors),
        "is_pinned": post.is_pinned,
        "is_private": post.is_private,
        "view_count": post.view_count,
        "comment_count": comment_count,
        "images": list(post.images or []),
        "created_at": post.created_at,
        "updated_at": post.updated_at,
    }
