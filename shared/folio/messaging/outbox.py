"""Transactional outbox and its relay.

A service changes its state and inserts the outgoing message in the same database
transaction (:meth:`Outbox.add`); nothing is published from a request handler. The
relay publishes committed rows with broker confirms, woken by ``LISTEN/NOTIFY`` (a
trigger notifies on insert) with a polling fallback, claiming rows with
``FOR UPDATE SKIP LOCKED`` so any number of replicas can run it. The trace context
captured at insert time is restored around the publish, so the trace continues from the
request that caused the message. Delivery is at least once; consumers de-duplicate on
the message id (see :mod:`folio.messaging.inbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream.rabbit import RabbitBroker
from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from folio.contracts import Message
from folio.db.engine import Database
from folio.db.listen import PgListener
from folio.messaging.broker import publish_envelope
from folio.messaging.envelope import Envelope

log = logging.getLogger(__name__)

OUTBOX_TABLE = "outbox"


def notify_channel(schema: str) -> str:
    return f"folio_outbox_{schema}"


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        OUTBOX_TABLE,
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("message_type", String(200), nullable=False),
        Column("exchange", String(200), nullable=False),
        Column("routing_key", String(200), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_outbox_published_at", "published_at"),
    )


# Raw DDL for the NOTIFY trigger: Alembic's autogenerate does not model triggers, so each
# service's first migration calls messaging_ddl() (folio.db.migration_ops).
NOTIFY_TRIGGER_DDL = (
    """
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('folio_outbox_' || TG_TABLE_SCHEMA, '');
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
    """,
)


_WAKE_PENDING = "folio_outbox_wake_pending"


class Outbox:
    def __init__(self, table: Table, producer: str) -> None:
        self.table = table
        self.producer = producer
        # Called after a transaction that staged messages commits: this process's relay
        # starts at once instead of waiting for its own NOTIFY to come back round.
        self.on_commit: Callable[[], None] | None = None

    def _wake_after_commit(self, session: AsyncSession) -> None:
        if self.on_commit is None:
            return
        sync = session.sync_session
        if not sync.info.get(_WAKE_PENDING):
            sync.info[_WAKE_PENDING] = True
            event.listen(sync, "after_commit", self._committed, once=True)

    def _committed(self, session: Session) -> None:
        session.info.pop(_WAKE_PENDING, None)
        if self.on_commit is not None:
            self.on_commit()

    async def add(
        self,
        session: AsyncSession,
        message: Message,
        *,
        correlation_id: str | None = None,
        message_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Stage a message in the caller's transaction; it leaves only if that commits."""
        envelope = Envelope.wrap(
            message,
            producer=self.producer,
            correlation_id=correlation_id,
            message_id=message_id,
        )
        headers: dict[str, Any] = {}
        propagate.inject(headers)  # the current trace continues when the relay publishes
        await session.execute(
            insert(self.table).values(
                message_id=envelope.message_id,
                message_type=envelope.type,
                exchange=message.exchange(),
                routing_key=message.routing_key(),
                envelope=envelope.model_dump(mode="json"),
                headers=headers,
            )
        )
        self._wake_after_commit(session)
        return envelope.message_id

    async def add_many(
        self, session: AsyncSession, messages: list[Message], *, correlation_id: str | None = None
    ) -> list[uuid.UUID]:
        """Stage several messages at once; their message ids, in order."""
        if not messages:
            return []
        rows = self.rows(messages, correlation_id=correlation_id)
        await session.execute(insert(self.table), rows)
        self._wake_after_commit(session)
        return [row["message_id"] for row in rows]

    def rows(self, messages: list[Message], *, correlation_id: str | None = None) -> list[dict]:
        """The outbox rows of these messages (columns as in the table), for a caller that
        inserts them within a statement of its own; it then calls :meth:`staged`."""
        headers: dict[str, Any] = {}
        propagate.inject(headers)
        rows = []
        for message in messages:
            envelope = Envelope.wrap(message, producer=self.producer, correlation_id=correlation_id)
            rows.append(
                {
                    "message_id": envelope.message_id,
                    "message_type": envelope.type,
                    "exchange": message.exchange(),
                    "routing_key": message.routing_key(),
                    "envelope": envelope.model_dump(mode="json"),
                    "headers": headers,
                }
            )
        return rows

    def staged(self, session: AsyncSession) -> None:
        """Rows of :meth:`rows` were inserted in this session's transaction: the local
        relay is woken when it commits."""
        self._wake_after_commit(session)


class OutboxRelay:
    """Publishes committed outbox rows. Safe to run in every replica."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        broker: RabbitBroker,
        *,
        poll_interval_s: float = 2.0,
        batch_size: int = 100,
        retention: timedelta = timedelta(hours=72),
    ) -> None:
        self.database = database
        self.table = outbox.table
        self.broker = broker
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self.retention = retention
        self._wakeup = asyncio.Event()
        self._last_purge = 0.0
        self.last_success_at: float | None = None
        self.healthy = True

    # -- public ------------------------------------------------------------------------

    async def run(self) -> None:
        listener = PgListener(self.database.url, application_name="outbox-listen")
        listener.listen(notify_channel(self.database.schema), lambda _: self._wakeup.set())
        # Rows may have been committed while nobody listened: look once on (re)connection.
        listener.on_connect(self._wakeup.set)
        listener.start()
        backoff = 0.5
        try:
            while True:
                # Cleared before the rows are read, never after: a commit that lands while
                # a batch is being published (its rows not in the batch) sets it again and
                # the loop goes round at once instead of waiting for the poll.
                self._wakeup.clear()
                try:
                    published = await self.publish_pending()
                    backoff = 0.5
                    self.healthy = True
                    await self._maybe_purge()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.healthy = False
                    log.warning(
                        "outbox relay: publishing failed, retrying in %.1fs: %s", backoff, exc
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if published >= self.batch_size:
                    continue  # more rows are probably waiting
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_interval_s)
        finally:
            await listener.stop()

    def wake(self) -> None:
        self._wakeup.set()

    async def publish_pending(self) -> int:
        """Publish until a batch comes back short; return how many were published."""
        total = 0
        while True:
            count = await self._publish_batch()
            total += count
            if count < self.batch_size:
                return total

    # -- internals ---------------------------------------------------------------------

    async def _publish_batch(self) -> int:
        t = self.table
        async with self.database.transaction() as session:
            rows = (
                await session.execute(
                    select(t.c.id, t.c.exchange, t.c.routing_key, t.c.envelope, t.c.headers)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish_row(row) for row in rows))
            published = [row.id for row, error in zip(rows, results, strict=True) if error is None]
            failed = [(row.id, error) for row, error in zip(rows, results, strict=True) if error]
            if published:
                await session.execute(
                    update(t).where(t.c.id.in_(published)).values(published_at=datetime.now(UTC))
                )
            for row_id, error in failed:
                await session.execute(
                    update(t)
                    .where(t.c.id == row_id)
                    .values(attempts=t.c.attempts + 1, last_error=error[:2000])
                )
        if failed:
            raise RuntimeError(f"{len(failed)} outbox message(s) not published: {failed[0][1]}")
        self.last_success_at = time.monotonic()
        return len(published)

    async def _publish_row(self, row: Any) -> str | None:
        # Each publish runs in its own task context: attach the stored trace context so
        # the publish span is a child of the request that wrote the row.
        token = otel_context.attach(propagate.extract(row.headers or {}))
        try:
            await publish_envelope(
                self.broker,
                row.envelope,
                exchange=row.exchange,
                routing_key=row.routing_key,
                headers=row.headers,
            )
            return None
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        finally:
            otel_context.detach(token)

    async def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < 600:
            return
        self._last_purge = now
        cutoff = datetime.now(UTC) - self.retention
        async with self.database.transaction() as session:
            await session.execute(delete(self.table).where(self.table.c.published_at < cutoff))
