from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from folio_users.models import User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_external_id(self, external_id: str, *, for_update: bool = False) -> User | None:
        query = select(User).where(User.clerk_user_id == external_id)  # type: ignore[arg-type]
        if for_update:
            query = query.with_for_update()
        return (await self.session.exec(query)).scalars().first()  # type: ignore[attr-defined]

    async def insert_if_absent(self, user: User) -> bool:
        """Insert unless a concurrent request created the same user first."""
        result = await self.session.execute(
            insert(User)
            .values(
                clerk_user_id=user.clerk_user_id,
                email=user.email,
                name=user.name,
                role=user.role,
            )
            .on_conflict_do_nothing(index_elements=["clerk_user_id"])
            .returning(User.id)  # type: ignore[arg-type]
        )
        return result.first() is not None
