"""Inbox: exactly-once effects on top of at-least-once delivery.

A consumer records ``(consumer, message_id)`` in the same transaction as its effects.
A redelivered or republished message finds its row already there and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, MetaData, PrimaryKeyConstraint, String, Table, delete, func
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from folio.messaging.envelope import Envelope

INBOX_TABLE = "inbox"


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        INBOX_TABLE,
        metadata,
        Column("consumer", String(200), nullable=False),
        Column("message_id", UUID(as_uuid=True), nullable=False),
        Column("message_type", String(200), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
    )


class Inbox:
    def __init__(self, table: Table) -> None:
        self.table = table

    async def claim(self, session: AsyncSession, consumer: str, envelope: Envelope) -> bool:
        """True the first time this consumer sees this message, False for a duplicate."""
        result = await session.execute(
            insert(self.table)
            .values(consumer=consumer, message_id=envelope.message_id, message_type=envelope.type)
            .on_conflict_do_nothing(index_elements=["consumer", "message_id"])
            .returning(self.table.c.message_id)
        )
        return result.first() is not None

    async def purge(self, session: AsyncSession, older_than: timedelta) -> None:
        cutoff = datetime.now(UTC) - older_than
        await session.execute(delete(self.table).where(self.table.c.received_at < cutoff))
