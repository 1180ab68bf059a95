"""The hot public reads: the category overview and post lists, through the shared cache.

Each cached value is keyed by the viewer's scope (anonymous, administrators, or one
user), so a private post can only be in the scopes of those allowed to see it.
"""

from __future__ import annotations

import hashlib

from pydantic import TypeAdapter
from sqlmodel.ext.asyncio.session import AsyncSession

from folio.cache import ReadCache
from folio.errors import NotFound
from folio_community.policy import Viewer, can_post_in, visible_posts
from folio_community.repository import CategoryRepository, PostRepository
from folio_community.schemas import CategoryOverview, CategoryPublic, PostListItem
from folio_community.service.views import Presenter

OVERVIEW = TypeAdapter(list[CategoryOverview])
POST_LIST = TypeAdapter(list[PostListItem])
RECENT_POSTS = 3


class BoardService:
    def __init__(self, session: AsyncSession, cache: ReadCache) -> None:
        self.categories = CategoryRepository(session)
        self.posts = PostRepository(session)
        self.presenter = Presenter(session)
        self.cache = cache

    async def overview(self, viewer: Viewer) -> bytes:
        async def build() -> bytes:
            return OVERVIEW.dump_json(await self._overview(viewer))

        return await self.cache.get_or_build(f"overview:{viewer.cache_scope}", build)

    async def list_posts(
        self, viewer: Viewer, category_name: str, search: str | None, skip: int, limit: int
    ) -> tuple[int, bytes]:
        """``(total, JSON page)``: what ``X-Total-Count`` and the body carry."""
        digest = hashlib.sha256(
            f"{category_name}\0{search or ''}\0{skip}\0{limit}".encode()
        ).hexdigest()[:32]

        async def build() -> bytes:
            total, page = await self._page(viewer, category_name, search, skip, limit)
            return str(total).encode() + b"\n" + POST_LIST.dump_json(page)

        value = await self.cache.get_or_build(f"posts:{viewer.cache_scope}:{digest}", build)
        total, _, body = value.partition(b"\n")
        return int(total), body

    async def _overview(self, viewer: Viewer) -> list[CategoryOverview]:
        visible = visible_posts(viewer)
        categories = await self.categories.all()
        counts = await self.posts.counts_by_category(visible)
        recent = await self.posts.top_by_category(visible, RECENT_POSTS)
        authors = await self.presenter.authors_of(recent)
        comment_counts = await self.presenter.comment_counts(viewer, recent)
        out = []
        for category in categories:
            posts = [p for p in recent if p.category_id == category.id]
            out.append(
                CategoryOverview(
                    **CategoryPublic.model_validate(category).model_dump(),
                    total_posts=counts.get(category.id, 0),  # type: ignore[arg-type]
                    can_post=can_post_in(viewer, category.is_admin_only),
                    recent_posts=[
                        self.presenter.summary(p, authors, comment_counts[p.id])  # type: ignore[index]
                        for p in posts
                    ],
                )
            )
        return out

    async def _page(
        self, viewer: Viewer, category_name: str, search: str | None, skip: int, limit: int
    ) -> tuple[int, list[PostListItem]]:
        category = await self.categories.by_name(category_name)
        if category is None:
            raise NotFound(f"Category '{category_name}' not found.")
        assert category.id is not None
        total, posts = await self.posts.page(
            visible_posts(viewer), category.id, search, skip, limit
        )
        authors = await self.presenter.authors_of(posts)
        counts = await self.presenter.comment_counts(viewer, posts)
        return total, [
            self.presenter.list_item(p, category, authors, counts[p.id])  # type: ignore[index]
            for p in posts
        ]
