"""Posts: creation, reading (with the visible comment tree), editing, pinning, views."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import PostCreated, PostDeleted, PostUpdated
from folio.errors import Forbidden, InvalidInput, NotFound
from folio.messaging import Outbox
from folio_community.models import Post
from folio_community.policy import Viewer, can_edit_post, can_post_in, can_view_post
from folio_community.repository import (
    AuthorRepository,
    CategoryRepository,
    ImageRepository,
    PostRepository,
)
from folio_community.schemas import PostCreate, PostPublic, PostUpdate
from folio_community.service.views import Presenter

IMAGE_PATH = "/api/v1/community/images/"
_IMAGE_URL = re.compile(r"^/api/v1/community/images/([0-9a-f]{32}\.(?:jpg|png|gif|webp))$")


class PostService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.posts = PostRepository(session)
        self.categories = CategoryRepository(session)
        self.outbox = outbox

    async def create(self, viewer: Viewer, author_name: str | None, body: PostCreate) -> Post:
        assert viewer.user_id is not None
        category = await self.categories.get(body.category_id)
        if category is None:
            raise NotFound(f"Category {body.category_id} not found")
        if not can_post_in(viewer, category.is_admin_only):
            raise Forbidden(f"Category '{category.name}' is admin-only")
        if body.is_pinned and not viewer.is_admin:
            raise Forbidden("Only admins can pin posts")
        images = await self._images(body.images)
        await AuthorRepository(self.session).ensure(viewer.user_id, author_name)
        post = await self.posts.add(
            Post(
                title=body.title,
                content=body.content,
                author_id=viewer.user_id,
                category_id=category.id,  # type: ignore[arg-type]
                is_pinned=body.is_pinned,
                is_private=body.is_private,
                images=images,
            )
        )
        await self._tell(PostCreated, post)
        return post

    async def visible(self, viewer: Viewer, post_id: int) -> Post:
        post = await self.posts.get(post_id)
        if post is None:
            raise NotFound(f"Post {post_id} not found")
        if not can_view_post(viewer, post):
            raise Forbidden("This post is private: only its author and admins can view it.")
        return post

    async def details(self, viewer: Viewer, post_ids: list[int]) -> list[PostPublic]:
        """The posts named that the viewer may see, each with the comments they may see,
        in the order asked; missing and private ones are left out (one call for a page of
        posts, e.g. the gateway's GraphQL API, instead of one per post)."""
        found = []
        for post_id in dict.fromkeys(post_ids):
            post = await self.posts.get(post_id)
            if post is not None and can_view_post(viewer, post):
                found.append(await self.detail(viewer, post))
        return found

    async def detail(self, viewer: Viewer, post: Post) -> PostPublic:
        category = await self.categories.get(post.category_id)
        assert category is not None
        return await Presenter(self.session).detail(viewer, post, category)

    async def update(self, viewer: Viewer, post_id: int, body: PostUpdate) -> Post:
        post = await self.visible(viewer, post_id)
        if not can_edit_post(viewer, post):
            raise Forbidden("Only the author or an admin can edit this post")
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        if "is_pinned" in changes and changes["is_pinned"] != post.is_pinned:
            if not viewer.is_admin:
                raise Forbidden("Only admins can pin posts")
        if "images" in changes:
            changes["images"] = await self._images(changes["images"])
        for field, value in changes.items():
            setattr(post, field, value)
        post.updated_at = datetime.now(UTC)
        self.session.add(post)
        await self.session.flush()
        await self._tell(PostUpdated, post)
        return post

    async def delete(self, viewer: Viewer, post_id: int) -> None:
        post = await self.posts.get(post_id)
        if post is None:
            raise NotFound(f"Post {post_id} not found")
        if not can_edit_post(viewer, post):
            raise Forbidden("Only the author or an admin can delete this post")
        await self._delete(post)

    async def delete_any(self, viewer: Viewer, post_id: int) -> None:
        """Moderation (``DELETE /admin/posts/{id}``): any post, by moderators and admins."""
        if not viewer.can_moderate:
            raise Forbidden("User lacks post:delete:any permission")
        post = await self.posts.get(post_id)
        if post is None:
            raise NotFound(f"Post {post_id} not found")
        await self._delete(post)

    async def count_view(self, viewer: Viewer, post_id: int) -> int:
        await self.visible(viewer, post_id)
        return await self.posts.count_view(post_id)

    async def _delete(self, post: Post) -> None:
        await self._tell(PostDeleted, post)
        await self.posts.delete(post)

    async def _images(self, urls: list[str]) -> list[str]:
        """Only images uploaded here, by our own URLs: nothing a user types reaches
        another user's browser as an address."""
        names = []
        for url in urls:
            match = _IMAGE_URL.fullmatch(url)
            if match is None:
                raise InvalidInput(f"Not an image uploaded to this board: {url[:200]!r}")
            names.append(match.group(1))
        missing = set(names) - await ImageRepository(self.session).existing(names)
        if missing:
            raise InvalidInput(f"Unknown image(s): {', '.join(sorted(missing))}")
        return list(dict.fromkeys(urls))

    async def _tell(self, event: type, post: Post) -> None:
        await self.outbox.add(
            self.session,
            event(
                post_id=post.id,
                category_id=post.category_id,
                author_id=post.author_id,
                is_private=post.is_private,
            ),
        )
