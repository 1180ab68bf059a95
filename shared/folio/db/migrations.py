"""One Alembic tree per service, run as an explicit step (``<service> migrate``).

A service's ``migrations/env.py`` is two lines: import its metadata and call
:func:`run_env`. Migrations run as the service's own role, with ``search_path`` and the
version table in the service's schema, never at request time or app start.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    """Alembic's own version table lives in the schema but is not a model."""
    return not (type_ == "table" and name == "alembic_version")


def _engine(url: str, schema: str):  # type: ignore[no-untyped-def]
    return create_async_engine(
        url,
        poolclass=NullPool,
        connect_args={"server_settings": {"search_path": schema}},
    )


def run_env(metadata: MetaData) -> None:
    """The body of every service's Alembic ``env.py``."""
    config = context.config
    url: str = config.attributes["database_url"]
    schema: str = config.attributes["schema"]
    if context.is_offline_mode():
        context.configure(
            url=url,
            target_metadata=metadata,
            literal_binds=True,
            version_table_schema=schema,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def _online() -> None:
        engine = _engine(url, schema)
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        await engine.dispose()

    asyncio.run(_online())


def alembic_config(script_location: Path, database_url: str, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = database_url
    config.attributes["schema"] = schema
    return config


def upgrade(script_location: Path, database_url: str, schema: str, revision: str = "head") -> None:
    """Apply migrations. Synchronous: Alembic's env runs its own event loop."""
    command.upgrade(alembic_config(script_location, database_url, schema), revision)


async def pending_model_changes(database_url: str, schema: str, metadata: MetaData) -> list:
    """Differences between the models and the migrated database (empty when in sync)."""
    engine = _engine(database_url, schema)
    try:
        async with engine.connect() as conn:

            def _compare(sync_conn: Connection) -> list:
                ctx = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "compare_type": True,
                        "version_table_schema": schema,
                        "include_object": include_object,
                    },
                )
                return compare_metadata(ctx, metadata)

            return await conn.run_sync(_compare)
    finally:
        await engine.dispose()
