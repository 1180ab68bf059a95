from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import UserCreated, UserDeleted, UserUpdated
from folio_community.models import Category
from folio_community.repository import AuthorRepository, CategoryRepository


class CommunityService:
    def __init__(self, session: AsyncSession) -> None:
        self.categories = CategoryRepository(session)
        self.authors = AuthorRepository(session)

    async def list_categories(self) -> list[Category]:
        return await self.categories.all()

    async def on_user_changed(self, event: UserCreated | UserUpdated) -> None:
        await self.authors.upsert(event.user_id, event.name, event.role)

    async def on_user_deleted(self, event: UserDeleted) -> None:
        await self.authors.delete(event.user_id)
