"""The author read model, fed by ``users.user.*`` events, and what deleting a user does.

Policy on deletion (``users.user.deleted.v1``): the user's posts and comments stay, so
threads other people took part in keep their replies, but they are **anonymised**: the
link to the account is removed (``author_id`` NULL), the read model keeps only a
tombstone (no name, no id), and images they uploaded no longer name them. Private posts
of a deleted user are then visible to administrators only; their private comments to
the post's author and administrators, exactly as the rules say for a post or comment
with no author.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import UserCreated, UserDeleted, UserUpdated
from folio_community.repository import (
    AuthorRepository,
    CommentRepository,
    ImageRepository,
    PostRepository,
)


class AuthorService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.authors = AuthorRepository(session)

    async def on_user_changed(self, event: UserCreated | UserUpdated, at: datetime) -> bool:
        return await self.authors.apply(
            event.user_id,
            {
                "name": event.name,
                "role": event.role,
                "account_id": event.account_id,
                "deleted": False,
            },
            at,
        )

    async def on_user_deleted(self, event: UserDeleted, at: datetime) -> tuple[int, int]:
        await self.authors.apply(
            event.user_id,
            {"name": None, "role": "user", "account_id": None, "deleted": True},
            at,
        )
        posts = await PostRepository(self.session).anonymise(event.user_id)
        comments = await CommentRepository(self.session).anonymise(event.user_id)
        await ImageRepository(self.session).forget_uploader(event.user_id)
        return posts, comments
