from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from folio_community.models import Author, Category


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Category]:
        result = await self.session.exec(select(Category).order_by(Category.order, Category.id))  # type: ignore[arg-type]
        return list(result.scalars().all())  # type: ignore[attr-defined]


class AuthorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, user_id: str, name: str | None, role: str) -> None:
        statement = insert(Author).values(user_id=user_id, name=name, role=role)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id"],
                set_={"name": name, "role": role, "updated_at": datetime.now(UTC)},
            )
        )

    async def get(self, user_id: str) -> Author | None:
        return await self.session.get(Author, user_id)

    async def delete(self, user_id: str) -> None:
        await self.session.execute(delete(Author).where(Author.user_id == user_id))  # type: ignore[arg-type]
