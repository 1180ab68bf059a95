"""Data ownership: one role and one schema per service, migrations that match the models."""

from __future__ import annotations

import importlib

import asyncpg
import pytest

from folio.db.bootstrap import ServiceDatabase, bootstrap
from folio.db.migrations import pending_model_changes

SERVICES = {
    "translation": "folio_translation",
    "community": "folio_community",
    "users": "folio_users",
}


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.mark.parametrize("schema", sorted(SERVICES))
async def test_models_match_the_migrated_schema(test_database, schema):
    models = importlib.import_module(f"{SERVICES[schema]}.models")
    assert await pending_model_changes(test_database.url(schema), schema, models.metadata) == []


@pytest.mark.parametrize("schema", sorted(SERVICES))
async def test_each_role_sees_only_its_own_schema(test_database, schema):
    conn = await asyncpg.connect(plain(test_database.url(schema)))
    try:
        assert await conn.fetchval("SHOW search_path") == schema
        assert await conn.fetchval("SELECT count(*) FROM outbox") >= 0
        for other in set(SERVICES) - {schema}:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {other}.outbox")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
    finally:
        await conn.close()


async def test_bootstrap_is_idempotent(test_database):
    services = [
        ServiceDatabase(schema, f"folio_{schema}", test_database.passwords[schema])
        for schema in SERVICES
    ]
    await bootstrap(test_database.admin_url, test_database.name, services)
    await bootstrap(test_database.admin_url, test_database.name, services)
    conn = await asyncpg.connect(plain(test_database.url("translation")))
    try:  # data and grants survive a second bootstrap
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await conn.close()
