"""Engine and sessions for one service's schema.

Each service connects as its own role with ``search_path`` set to its own schema, so
models carry no schema name and a service cannot touch another's tables by accident
(the grants forbid it anyway). The request owns the transaction: the session dependency
commits after the endpoint returns and before the response is sent; services and
repositories never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


def new_registry_base() -> type[SQLModel]:
    """A SQLModel base with its own metadata: one per service, so tables never mix."""

    class ServiceModel(SQLModel, registry=registry()):
        pass

    return ServiceModel


class Database:
    def __init__(
        self,
        url: str,
        schema: str,
        *,
        application_name: str,
        pool_size: int = 10,
        max_overflow: int = 10,
    ) -> None:
        self.schema = schema
        self.url = url
        self.engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            connect_args={
                "server_settings": {
                    "search_path": schema,
                    "application_name": application_name[:63],
                }
            },
        )
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success, rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    async with database.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": the commit happens before the response is sent, so a client never
# sees success for a write that then fails to commit.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
