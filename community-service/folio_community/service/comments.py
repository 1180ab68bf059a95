"""Comments and replies, private ones visible to their author, the post's author and
admins, at every depth."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import CommentCreated, CommentDeleted, CommentUpdated
from folio.errors import Forbidden, InvalidInput, NotFound
from folio.messaging import Outbox
from folio_community.models import Comment, Post
from folio_community.policy import (
    Viewer,
    can_delete_comment,
    can_edit_comment,
    visible_comments,
)
from folio_community.repository import AuthorRepository, CommentRepository, PostRepository
from folio_community.schemas import CommentCreate, CommentPublic, CommentUpdate
from folio_community.service.posts import PostService
from folio_community.service.views import Presenter


class CommentService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.comments = CommentRepository(session)
        self.posts = PostService(session, outbox)
        self.outbox = outbox

    async def list(self, viewer: Viewer, post_id: int) -> list[CommentPublic]:
        post = await self.posts.visible(viewer, post_id)
        return await Presenter(self.session).comments_of(viewer, post)

    async def create(
        self, viewer: Viewer, author_name: str | None, post_id: int, body: CommentCreate
    ) -> CommentPublic:
        assert viewer.user_id is not None
        post = await self.posts.visible(viewer, post_id)
        if body.parent_id is not None:
            await self._parent(viewer, post, body.parent_id)
        await AuthorRepository(self.session).ensure(viewer.user_id, author_name)
        comment = await self.comments.add(
            Comment(
                content=body.content,
                author_id=viewer.user_id,
                post_id=post_id,
                parent_id=body.parent_id,
                is_private=body.is_private,
            )
        )
        await self._tell(CommentCreated, comment)
        return await self._public(comment)

    async def update(self, viewer: Viewer, comment_id: int, body: CommentUpdate) -> CommentPublic:
        comment = await self._get(comment_id)
        if not can_edit_comment(viewer, comment):
            raise Forbidden("Only the author or an admin can edit this comment")
        for field, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
            setattr(comment, field, value)
        comment.updated_at = datetime.now(UTC)
        self.session.add(comment)
        await self.session.flush()
        await self._tell(CommentUpdated, comment)
        return await self._public(comment)

    async def delete(self, viewer: Viewer, comment_id: int) -> None:
        comment = await self._get(comment_id)
        post = await PostRepository(self.session).get(comment.post_id)
        assert post is not None
        if not can_delete_comment(viewer, comment, post):
            raise Forbidden("Only the author, the post's author or an admin can delete this")
        await self._tell(CommentDeleted, comment)
        await self.comments.delete(comment)  # replies go with it (ON DELETE CASCADE)

    async def _parent(self, viewer: Viewer, post: Post, parent_id: int) -> None:
        """The parent must be a comment of this post that the replier can see; anything
        else is the same 422 (so hidden comments cannot be probed for)."""
        comments = await self.comments.of_post(post.id)  # type: ignore[arg-type]
        visible = {c.id for c in visible_comments(viewer, post, comments)}
        if parent_id not in visible:
            raise InvalidInput(f"parent_id {parent_id} is not a comment of post {post.id}")

    async def _get(self, comment_id: int) -> Comment:
        comment = await self.comments.get(comment_id)
        if comment is None:
            raise NotFound(f"Comment {comment_id} not found")
        return comment

    async def _public(self, comment: Comment) -> CommentPublic:
        presenter = Presenter(self.session)
        return presenter.comment(comment, await presenter.authors_of([comment]))

    async def _tell(self, event: type, comment: Comment) -> None:
        await self.outbox.add(
            self.session,
            event(
                comment_id=comment.id,
                post_id=comment.post_id,
                parent_id=comment.parent_id,
                is_private=comment.is_private,
            ),
        )
