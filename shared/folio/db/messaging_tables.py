"""The outbox and inbox tables, added to a service's own metadata and migrations."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import MetaData, Table

from folio.messaging.inbox import inbox_table
from folio.messaging.outbox import NOTIFY_TRIGGER_DDL, outbox_table


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def add_messaging_tables(metadata: MetaData) -> MessagingTables:
    """Call once in a service's ``models`` module."""
    return MessagingTables(outbox=outbox_table(metadata), inbox=inbox_table(metadata))


def create_messaging_tables() -> None:
    """For a service's first Alembic migration: tables, indexes and the NOTIFY trigger."""
    from alembic import op

    metadata = MetaData()
    add_messaging_tables(metadata)
    metadata.create_all(op.get_bind())
    for statement in NOTIFY_TRIGGER_DDL:
        op.execute(statement)


def drop_messaging_tables() -> None:
    from alembic import op

    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS outbox_notify()")
    op.drop_table("inbox")
    op.drop_table("outbox")
