"""Postgres access for services that own a schema: engine, sessions, unit of work."""

from folio.db.engine import Database, DbSession, new_registry_base

__all__ = ["Database", "DbSession", "new_registry_base"]
