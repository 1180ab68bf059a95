"""Idempotent database bootstrap: the database, one role and one schema per service.

Run once per environment with superuser rights (a Kubernetes Job, ``make up``, the
test fixtures) before the services' own migrations. Each role may connect to the
database and owns exactly its schema; it has no rights on any other schema.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class ServiceDatabase:
    schema: str
    role: str
    password: str | None


def _ident(name: str) -> str:
    if not _IDENT.fullmatch(name):
        raise ValueError(f"unsafe SQL identifier {name!r}")
    return f'"{name}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
    return urlunsplit(parts._replace(path=f"/{database}"))


async def bootstrap(admin_url: str, database: str, services: list[ServiceDatabase]) -> None:
    _ident(database)
    admin = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await admin.execute(f"CREATE DATABASE {_ident(database)}")
        for svc in services:
            role = _ident(svc.role)
            password = f" PASSWORD {_literal(svc.password)}" if svc.password else ""
            if await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", svc.role):
                await admin.execute(f"ALTER ROLE {role} WITH LOGIN{password}")
            else:
                await admin.execute(f"CREATE ROLE {role} WITH LOGIN{password}")
            await admin.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {role}")
        await admin.execute(f"REVOKE CONNECT ON DATABASE {_ident(database)} FROM PUBLIC")
    finally:
        await admin.close()

    conn = await asyncpg.connect(_with_database(admin_url, database))
    try:
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for svc in services:
            role, schema = _ident(svc.role), _ident(svc.schema)
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
            await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {role}")
            await conn.execute(
                f"ALTER ROLE {role} IN DATABASE {_ident(database)} SET search_path = {schema}"
            )
    finally:
        await conn.close()


def services_from_env(spec: str) -> list[ServiceDatabase]:
    """``"translation:folio_translation,users:folio_users"`` plus FOLIO_DB_PASSWORD_<SCHEMA>."""
    out = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        schema, _, role = item.partition(":")
        password = os.environ.get(f"FOLIO_DB_PASSWORD_{schema.upper()}")
        out.append(
            ServiceDatabase(schema=schema, role=role or f"folio_{schema}", password=password)
        )
    return out


DEFAULT_SERVICES = "translation:folio_translation,community:folio_community,users:folio_users"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "FOLIO_BOOTSTRAP_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="superuser connection URL (env FOLIO_BOOTSTRAP_DATABASE_URL)",
    )
    parser.add_argument("--database", default=os.environ.get("FOLIO_DATABASE_NAME", "folio"))
    parser.add_argument(
        "--services", default=os.environ.get("FOLIO_BOOTSTRAP_SERVICES", DEFAULT_SERVICES)
    )
    args = parser.parse_args()
    asyncio.run(bootstrap(args.admin_url, args.database, services_from_env(args.services)))
    print(f"database {args.database!r} ready: {args.services}")


if __name__ == "__main__":
    main()
