"""The board (community-service): categories, posts, comments and their authors.

Authors come with the posts and comments (community-service keeps them as a read model
of user-service), so they cost no call of their own. A post's content and comment tree
come from the batch read, one call for every post of a page. The comments are the ones
the caller may see, as community-service decides: a private comment at any depth, and a
private post, never reach anyone the REST routes would not show them to.
"""

from __future__ import annotations

from typing import Any

import strawberry

from folio_gateway.graphql_api.context import Info, Long, build
from folio_gateway.routes import COMMUNITY


@strawberry.type(description="A board category.")
class Category:
    id: Long
    name: str
    display_name: str
    description: str | None
    is_admin_only: bool
    order: int
    created_at: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Category:
        return build(cls, data)


@strawberry.type(description="Who wrote a post or comment (id 0 once the account is deleted).")
class Author:
    id: Long
    name: str | None


@strawberry.type(description="A comment you may see, with the replies you may see.")
class Comment:
    id: Long
    post_id: Long
    parent_id: Long | None
    content: str
    content_html: str
    is_private: bool
    author: Author
    created_at: str
    updated_at: str | None
    replies: list[Comment]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Comment:
        return build(
            cls,
            data,
            author=build(Author, data["author"]),
            replies=[cls.of(reply) for reply in data.get("replies") or []],
        )


@strawberry.type(description="A post you may see.")
class Post:
    id: Long
    title: str
    author: Author
    category: Category | None
    is_pinned: bool
    is_private: bool
    view_count: int
    comment_count: int
    images: list[str]
    created_at: str
    updated_at: str | None
    summary: strawberry.Private[dict[str, Any]]

    @classmethod
    def of(cls, data: dict[str, Any]) -> Post:
        category = data.get("category")
        return build(
            cls,
            data,
            author=build(Author, data["author"]),
            category=Category.of(category) if category else None,
            summary=data,
        )

    async def _detail(self, info: Info) -> dict[str, Any] | None:
        if "content" in self.summary:
            return self.summary
        return await info.context.loaders.post_details.load(self.id)

    @strawberry.field(description="The post's text as written.")
    async def content(self, info: Info) -> str | None:
        detail = await self._detail(info)
        return detail["content"] if detail else None

    @strawberry.field(description="The post's text as sanitised HTML.")
    async def content_html(self, info: Info) -> str | None:
        detail = await self._detail(info)
        return detail["content_html"] if detail else None

    @strawberry.field(description="The comments you may see, replies nested.")
    async def comments(self, info: Info) -> list[Comment]:
        detail = await self._detail(info)
        return [Comment.of(c) for c in detail["comments"]] if detail else []


@strawberry.type(description="A page of posts and how many there are in all.")
class PostPage:
    total: int
    skip: int
    limit: int
    items: list[Post]

    @strawberry.field
    def has_more(self) -> bool:
        return self.skip + len(self.items) < self.total


async def categories(info: Info) -> list[Category]:
    listed = await info.context.services.get_json(COMMUNITY, "/api/v1/community/categories")
    return [Category.of(c) for c in listed]


async def category(info: Info, id: Long) -> Category | None:
    data = await info.context.services.get_json(COMMUNITY, f"/api/v1/community/categories/{id}")
    return Category.of(data)


async def posts(
    info: Info, category: str, search: str | None = None, skip: int = 0, limit: int = 20
) -> PostPage:
    params = {"category": category, "search": search, "skip": skip, "limit": limit}
    listed, headers = await info.context.services.get(COMMUNITY, "/api/v1/community/posts", params)
    total = int(headers.get("x-total-count", len(listed)))
    return PostPage(total=total, skip=skip, limit=limit, items=[Post.of(p) for p in listed])


async def post(info: Info, id: Long) -> Post | None:
    detail = await info.context.loaders.post_details.load(id)
    if detail is None:  # missing, or not yours to see: as the batch read says
        return None
    return Post.of(detail)
