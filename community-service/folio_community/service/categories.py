"""Categories: seeded by the first migration, managed by administrators."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import CategoryCreated, CategoryDeleted, CategoryUpdated
from folio.errors import Conflict, Forbidden, NotFound
from folio.messaging import Outbox
from folio_community.models import Category
from folio_community.policy import Viewer
from folio_community.repository import CategoryRepository
from folio_community.schemas import CategoryCreate


class CategoryService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.categories = CategoryRepository(session)
        self.outbox = outbox

    async def list(self) -> list[Category]:
        return await self.categories.all()

    async def get(self, category_id: int) -> Category:
        category = await self.categories.get(category_id)
        if category is None:
            raise NotFound("Category not found")
        return category

    async def create(self, viewer: Viewer, body: CategoryCreate) -> Category:
        _admin(viewer, "create")
        if await self.categories.name_taken(body.name):
            raise Conflict(f"A category named '{body.name}' already exists.")
        category = Category(**body.model_dump())
        self.session.add(category)
        await self.session.flush()
        assert category.id is not None
        await self.outbox.add(self.session, CategoryCreated(category_id=category.id))
        return category

    async def replace(self, viewer: Viewer, category_id: int, body: CategoryCreate) -> Category:
        _admin(viewer, "update")
        category = await self.get(category_id)
        if await self.categories.name_taken(body.name, other_than=category_id):
            raise Conflict(f"A category named '{body.name}' already exists.")
        for field, value in body.model_dump().items():
            setattr(category, field, value)
        self.session.add(category)
        await self.session.flush()
        await self.outbox.add(self.session, CategoryUpdated(category_id=category_id))
        return category

    async def delete(self, viewer: Viewer, category_id: int) -> None:
        _admin(viewer, "delete")
        category = await self.get(category_id)
        if await self.categories.has_posts(category_id):
            raise Conflict("The category still has posts: delete or move them before the category.")
        await self.session.delete(category)
        await self.session.flush()
        await self.outbox.add(self.session, CategoryDeleted(category_id=category_id))


def _admin(viewer: Viewer, action: str) -> None:
    if not viewer.is_admin:
        raise Forbidden(f"Only admins can {action} categories")
