"""The service defaults: one runtime object per service process.

It owns the database, the broker (with its consumers), the outbox relay and telemetry,
starts them in the right order and reports readiness. Every service builds one in its
``main.create_app`` and hands it to :func:`folio.app.create_service_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from folio.db.engine import Database
from folio.db.messaging_tables import MessagingTables
from folio.health import ReadinessCheck
from folio.identity import InternalTokenVerifier
from folio.messaging.broker import Publisher, make_broker
from folio.messaging.consumer import Consumer
from folio.messaging.inbox import Inbox
from folio.messaging.outbox import Outbox, OutboxRelay
from folio.messaging.rpc import RpcClient
from folio.messaging.topology import BroadcastSpec, QueueSpec, declare_topology
from folio.settings import DatabaseSettings, ServiceSettings
from folio.telemetry import Telemetry, setup_telemetry

log = logging.getLogger(__name__)


def freeze_startup_objects() -> None:
    """Exempt what start-up allocated (modules, classes, schemas) from garbage collection.

    A full collection otherwise walks that whole heap again each time: pauses of about
    100 ms in the middle of a job, measured in the worker. Frozen, it walks only what
    the work itself allocated.
    """
    gc.collect()
    gc.freeze()


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Wait for a cancelled task to end, cancelling it again while it runs on: a client
    library may swallow a cancellation that lands mid-call (a publish awaiting its
    confirm, say), and a loop such as the outbox relay's would then go on for ever."""
    while not task.done():
        await asyncio.wait({task}, timeout=1.0)
        if not task.done():
            log.warning("task %s ignored its cancellation; cancelling it again", task.get_name())
            task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        tables: MessagingTables | None = None,
        use_broker: bool = True,
    ) -> None:
        self.settings = settings
        self.telemetry: Telemetry = setup_telemetry(
            settings.service_name, settings.otel_exporter_otlp_endpoint
        )
        self.database: Database | None = None
        self.outbox: Outbox | None = None
        self.inbox: Inbox | None = None
        if isinstance(settings, DatabaseSettings):
            self.database = Database(
                settings.database_url.get_secret_value(),
                settings.database_schema,
                application_name=settings.service_name,
                pool_size=settings.database_pool_size,
                max_overflow=settings.database_max_overflow,
            )
            from folio.telemetry import instrument_sqlalchemy

            instrument_sqlalchemy(self.database.engine, self.telemetry)
            if tables is not None:
                self.outbox = Outbox(tables.outbox, producer=settings.service_name)
                self.inbox = Inbox(tables.inbox)
        self.broker = (
            make_broker(
                settings.rabbitmq_url.get_secret_value(),
                service_name=settings.service_name,
                telemetry=self.telemetry,
                graceful_timeout_s=settings.graceful_timeout_s,
            )
            if use_broker
            else None
        )
        self.publisher = Publisher(self.broker, settings.service_name) if self.broker else None
        self.relay: OutboxRelay | None = None
        if self.broker and self.database and self.outbox and isinstance(settings, DatabaseSettings):
            self.relay = OutboxRelay(
                self.database,
                self.outbox,
                self.broker,
                poll_interval_s=settings.outbox_poll_interval_s,
                batch_size=settings.outbox_batch_size,
                retention=timedelta(hours=settings.outbox_retention_hours),
            )
            self.outbox.on_commit = self.relay.wake
        self.identity_verifier: InternalTokenVerifier | None = None
        if settings.internal_token_public_key is not None:
            self.identity_verifier = InternalTokenVerifier(
                settings.internal_token_public_key.get_secret_value(),
                issuer=settings.internal_token_issuer,
                audience=settings.internal_token_audience,
            )
        self.consumers: list[Consumer] = []
        self.extra_checks: dict[str, ReadinessCheck] = {}
        self.broker_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._on_ready: list[Callable[[], Awaitable[None]]] = []
        self._on_shutdown: list[Callable[[], Awaitable[None]]] = []
        self._on_stopping: list[Callable[[], Awaitable[None]]] = []
        self._on_startup: list[Callable[[], Awaitable[None]]] = []

    # -- wiring ------------------------------------------------------------------------

    def consumer(
        self, queue: QueueSpec, *, prefetch: int = 10, name: str | None = None
    ) -> Consumer:
        """A consumer of ``queue``; with a database it de-duplicates through the inbox."""
        if self.broker is None:
            raise RuntimeError("this service runs without a broker")
        consumer = Consumer(
            name or self.settings.service_name,
            queue,
            database=self.database if self.inbox else None,
            inbox=self.inbox,
            prefetch=prefetch,
        )
        consumer.attach(self.broker)
        self.consumers.append(consumer)
        return consumer

    def broadcast_consumer(self, spec: BroadcastSpec, *, name: str | None = None) -> Consumer:
        """A consumer of this process's own copy of ``spec``'s events (fan-out).

        No inbox: every replica must act on every message, and what it does with one
        (refresh something from its database) is safe to repeat.
        """
        if self.broker is None:
            raise RuntimeError("this service runs without a broker")
        instance = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        consumer = Consumer(
            name or f"{self.settings.service_name}.{spec.prefix}",
            spec.for_process(instance),
            prefetch=50,
        )
        consumer.attach(self.broker)
        self.consumers.append(consumer)
        return consumer

    def rpc_client(self) -> RpcClient:
        """This process's requester (request/reply), with its own reply queue."""
        if self.broker is None:
            raise RuntimeError("this service runs without a broker")
        client = RpcClient(self.settings.service_name)
        client.attach(self.broker)
        return client

    def on_broker_ready(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_ready.append(callback)

    def on_startup(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Prepare something before messages start arriving (e.g. warm a process pool)."""
        self._on_startup.append(callback)

    def on_stopping(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Told to stop, before the consumers drain: let work in progress wind down (the
        worker starts no new model call, so the calls in flight finish and are recorded
        within the graceful timeout)."""
        self._on_stopping.append(callback)

    def on_shutdown(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Release something the service opened (an HTTP client, a cache)."""
        self._on_shutdown.append(callback)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, broker_wait_s: float = 5.0) -> None:
        self._stopping = False
        for callback in self._on_startup:
            await callback()
        freeze_startup_objects()
        if self.broker is not None:
            task = asyncio.create_task(self._connect_broker(), name="broker-connect")
            self._tasks.append(task)
            # Usually the broker is there: start with it connected. If it is not, serve
            # HTTP anyway (writes go to the outbox) and keep connecting in the background.
            await asyncio.wait({task}, timeout=broker_wait_s)

    async def _connect_broker(self) -> None:
        """Connect in the background: the HTTP API (and the outbox) work meanwhile."""
        assert self.broker is not None
        delay = 0.5
        while True:
            try:
                await self.broker.connect()
                await declare_topology(self.broker)
                await self.broker.start()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("broker unavailable (%s); retrying in %.1fs", exc, delay)
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.broker_ready.set()
        log.info("broker connected; %d consumer(s) running", len(self.consumers))
        if self.relay is not None and not self._stopping:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for callback in self._on_ready:
            await callback()

    async def stop(self) -> None:
        for callback in self._on_stopping:
            with contextlib.suppress(Exception):
                await callback()
        # A broker connection finishing while we stop (a client library may swallow the
        # cancellation) must not start the relay afterwards, and a task started meanwhile
        # is cancelled too: awaiting one that was never cancelled would wait forever.
        self._stopping = True
        while self._tasks:
            tasks, self._tasks = self._tasks, []
            for task in reversed(tasks):
                task.cancel()
            for task in tasks:
                await _cancelled(task)
        if self.broker is not None:
            with contextlib.suppress(Exception):
                await self.broker.stop()
        for callback in self._on_shutdown:
            with contextlib.suppress(Exception):
                await callback()
        if self.database is not None:
            await self.database.dispose()
        self.telemetry.tracer_provider.force_flush(timeout_millis=2000)

    # -- readiness ---------------------------------------------------------------------

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        checks: dict[str, ReadinessCheck] = {}
        if self.database is not None:
            checks["database"] = self.database.ping
        if self.broker is not None:
            checks["broker"] = self._check_broker
        if self.relay is not None:
            checks["outbox_relay"] = self._check_relay
        checks.update(self.extra_checks)
        return checks

    async def _check_broker(self) -> None:
        if not self.broker_ready.is_set():
            raise RuntimeError("not connected yet")
        assert self.broker is not None
        if not await self.broker.ping(timeout=1.0):
            raise RuntimeError("connection lost")

    async def _check_relay(self) -> None:
        task = next((t for t in self._tasks if t.get_name() == "outbox-relay"), None)
        if task is None or task.done():
            raise RuntimeError("relay not running")
