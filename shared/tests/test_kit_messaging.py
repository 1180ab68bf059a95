"""Outbox, relay, inbox and consumers against real PostgreSQL and RabbitMQ.

Each test gets a fresh RabbitMQ virtual host; the outbox and inbox tables are the
translation schema's (created by its real migrations in the session's test database).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from typing import ClassVar

import aio_pika
import pytest
from sqlalchemy import delete, func, select, text

from folio.contracts import EVENTS_EXCHANGE, Event, PlanJob
from folio.db import Database
from folio.messaging import (
    QUEUES,
    Consumer,
    Delivery,
    Envelope,
    Inbox,
    Outbox,
    OutboxRelay,
    QueueSpec,
    declare_topology,
    make_broker,
    publish_envelope,
)
from folio.messaging.topology import WORKER_PLAN, declare_queue
from folio_devstack.faults import TcpProxy
from folio_devstack.pytest_plugin import wait_until
from folio_translation.models import MESSAGING


class KitProbe(Event):
    TYPE: ClassVar[str] = "test.kit.probe.v1"
    n: int
    poison: bool = False


def plan(job_id: int) -> PlanJob:
    return PlanJob(
        job_id=job_id,
        upload_key="uploads/x",
        filename="b.txt",
        segment_size=1000,
        target_language="ko",
        model="fake-model",
    )


@pytest.fixture
async def database(test_database):
    db = Database(test_database.url("translation"), "translation", application_name="kit-test")
    async with db.transaction() as session:
        await session.execute(delete(MESSAGING.outbox))
        await session.execute(delete(MESSAGING.inbox))
    yield db
    await db.dispose()


@pytest.fixture
async def amqp_url(module_amqp_url):
    """The module's virtual host, with every queue emptied: tests see only their messages."""
    connection = await aio_pika.connect(module_amqp_url)
    try:
        for spec in QUEUES:
            for name in (spec.name, spec.dead_letter_queue):
                # A failed passive declare (no such queue yet) closes its channel: one each.
                channel = await connection.channel()
                with contextlib.suppress(aio_pika.exceptions.ChannelClosed):
                    await (await channel.declare_queue(name, passive=True)).purge()
    finally:
        await connection.close()
    return module_amqp_url


@pytest.fixture
async def broker(amqp_url):
    broker = make_broker(amqp_url, service_name="kit-test", telemetry=None)
    await broker.connect()
    await declare_topology(broker)
    yield broker
    await broker.stop()


@pytest.fixture
async def raw_channel(amqp_url):
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    yield channel
    await connection.close()


async def drain(channel, queue_name: str, expected: int, timeout_s: float = 15) -> list:
    queue = await channel.get_queue(queue_name, ensure=False)
    messages = []

    async def enough():
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            messages.append(message)
        return len(messages) >= expected

    with contextlib.suppress(TimeoutError):
        await wait_until(enough, timeout_s=timeout_s)
    return messages


async def unpublished(db: Database) -> int:
    async with db.transaction() as session:
        return (
            await session.execute(
                select(func.count())
                .select_from(MESSAGING.outbox)
                .where(MESSAGING.outbox.c.published_at.is_(None))
            )
        ).scalar_one()


def rabbitmqctl_queues(vhost_url: str) -> dict[str, str]:
    vhost = vhost_url.rsplit("/", 1)[1].replace("%2F", "/")
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "type", "arguments"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {line.split("\t")[0]: line for line in out.splitlines() if "\t" in line}


async def test_topology_declares_quorum_queues_with_delivery_limits_and_dlqs(broker, amqp_url):
    queues = rabbitmqctl_queues(amqp_url)
    for name in ("worker-service.plan", "worker-service.segment", "translation-service.events"):
        assert "quorum" in queues[name]
        assert "x-delivery-limit" in queues[name]
        assert "folio.dlx" in queues[name]
        assert f"{name}.dlq" in queues
    # Declaring again is idempotent.
    await declare_topology(broker)


async def test_relay_publishes_only_committed_rows_with_their_envelope(
    database, broker, raw_channel
):
    outbox = Outbox(MESSAGING.outbox, producer="kit-test")
    with contextlib.suppress(RuntimeError):
        async with database.transaction() as session:
            await outbox.add(session, plan(1))
            raise RuntimeError("roll back")
    async with database.transaction() as session:
        committed_id = await outbox.add(session, plan(2), correlation_id="job-2")

    relay = OutboxRelay(database, outbox, broker)
    assert await relay.publish_pending() == 1
    messages = await drain(raw_channel, WORKER_PLAN.name, expected=1)
    assert len(messages) == 1
    message = messages[0]
    assert message.message_id == str(committed_id)
    assert message.type == PlanJob.TYPE
    assert message.correlation_id == "job-2"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    envelope = Envelope.model_validate_json(message.body)
    assert envelope.open() == plan(2)
    assert await unpublished(database) == 0
    assert await relay.publish_pending() == 0  # nothing is published twice


async def test_a_commit_that_staged_messages_wakes_the_local_relay(database):
    """The relay of the committing process starts at once; rolled-back or message-free
    transactions do not wake it."""
    outbox = Outbox(MESSAGING.outbox, producer="kit-test")
    wakes: list[int] = []
    outbox.on_commit = lambda: wakes.append(1)
    with contextlib.suppress(RuntimeError):
        async with database.transaction() as session:
            await outbox.add(session, plan(11))
            raise RuntimeError("roll back")
    assert wakes == []
    async with database.transaction() as session:
        await session.execute(text("SELECT 1"))
    assert wakes == []
    async with database.transaction() as session:
        await outbox.add(session, plan(12))
        await outbox.add_many(session, [plan(13), plan(14)])
    assert wakes == [1]  # once per transaction, after the commit
    async with database.transaction() as session:
        await outbox.add_many(session, [plan(15)])
    assert wakes == [1, 1]


async def test_relay_is_woken_by_notify_long_before_its_poll(database, broker, raw_channel):
    outbox = Outbox(MESSAGING.outbox, producer="kit-test")
    relay = OutboxRelay(database, outbox, broker, poll_interval_s=600)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(1)  # let it LISTEN and go idle
        async with database.transaction() as session:
            await outbox.add(session, plan(3))
        # The poll would only come after 600 s: arriving at all proves the NOTIFY wake-up.
        messages = await drain(raw_channel, WORKER_PLAN.name, expected=1, timeout_s=20)
        assert len(messages) == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_commit_during_a_publish_is_not_left_for_the_poll(database, broker, raw_channel):
    """Rows committed while the relay publishes a batch (after it read its rows) are
    published next, not after the poll interval: the wake-ups of that commit (its own and
    the NOTIFY) arrive during the publish and must not be cleared by the relay going idle."""
    outbox = Outbox(MESSAGING.outbox, producer="kit-test")
    relay = OutboxRelay(database, outbox, broker, poll_interval_s=600)
    outbox.on_commit = relay.wake
    publish_pending = relay.publish_pending
    calls = 0

    async def slow_first_batch() -> int:
        nonlocal calls
        calls += 1
        published = await publish_pending()
        if calls == 1:
            async with database.transaction() as session:
                await outbox.add(session, plan(21))
            await asyncio.sleep(0.5)  # still publishing when both wake-ups come in
        return published

    relay.publish_pending = slow_first_batch  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        # The poll would only come after 600 s.
        messages = await drain(raw_channel, WORKER_PLAN.name, expected=1, timeout_s=20)
        assert [Envelope.model_validate_json(m.body).open() for m in messages] == [plan(21)]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_relay_keeps_rows_through_a_broker_outage_and_publishes_each_once(
    database, amqp_url, raw_channel
):
    proxy = TcpProxy("127.0.0.1", 5672)
    port = await proxy.start()
    proxied_url = amqp_url.replace("127.0.0.1:5672", f"127.0.0.1:{port}")
    broker = make_broker(proxied_url, service_name="kit-test", telemetry=None)
    await broker.connect()
    await declare_topology(broker)
    outbox = Outbox(MESSAGING.outbox, producer="kit-test")
    relay = OutboxRelay(database, outbox, broker, poll_interval_s=0.5)
    task = asyncio.create_task(relay.run())
    try:
        await proxy.cut()
        ids = []
        async with database.transaction() as session:
            for job_id in range(10, 20):
                ids.append(str(await outbox.add(session, plan(job_id))))
        await asyncio.sleep(3)
        assert await unpublished(database) == 10  # nothing lost, nothing claimed as sent
        await proxy.restore()
        await wait_until(lambda: _zero(unpublished(database)), timeout_s=60)
        messages = await drain(raw_channel, WORKER_PLAN.name, expected=10, timeout_s=20)
        assert sorted(m.message_id for m in messages) == sorted(ids)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await broker.stop()
        await proxy.close()


async def _zero(coro) -> bool:
    return (await coro) == 0


async def test_two_relays_share_the_work_without_duplicates(database, broker, raw_channel):
    outbox = Outbox(MESSAGING.outbox, producer="kit-test")
    async with database.transaction() as session:
        await outbox.add_many(session, [plan(i) for i in range(300)])
    relays = [OutboxRelay(database, outbox, broker, batch_size=20) for _ in range(2)]
    counts = await asyncio.gather(*(r.publish_pending() for r in relays))
    assert sum(counts) == 300
    messages = await drain(raw_channel, WORKER_PLAN.name, expected=300)
    ids = [m.message_id for m in messages]
    assert len(ids) == 300 and len(set(ids)) == 300


async def test_inbox_applies_a_message_once_and_forgets_failed_attempts(database):
    inbox = Inbox(MESSAGING.inbox)
    outbox = Outbox(MESSAGING.outbox, producer="kit-test")
    consumer = Consumer("kit-consumer", WORKER_PLAN, database=database, inbox=inbox)
    attempts = []

    @consumer.on(KitProbe)
    async def handle(event: KitProbe, delivery: Delivery) -> None:
        attempts.append(event.n)
        await outbox.add(delivery.session, plan(event.n))  # the handler's visible effect
        if len(attempts) == 1:
            raise RuntimeError("transient failure on the first attempt")

    body = Envelope.wrap(KitProbe(n=42), producer="test").model_dump_json().encode()
    with pytest.raises(RuntimeError):
        await consumer.process(body)  # failed: its effects and inbox claim roll back
    await consumer.process(body)  # redelivery: applied
    await consumer.process(body)  # duplicate: ignored
    assert attempts == [42, 42]
    async with database.transaction() as session:
        outbox_rows = (
            await session.execute(select(func.count()).select_from(MESSAGING.outbox))
        ).scalar_one()
        inbox_rows = (
            await session.execute(select(func.count()).select_from(MESSAGING.inbox))
        ).scalar_one()
    assert outbox_rows == 1
    assert inbox_rows == 1


async def test_poison_message_lands_in_its_dlq_while_others_are_processed(amqp_url, raw_channel):
    spec = QueueSpec(
        f"kit-test.poison-{uuid.uuid4().hex[:6]}",
        EVENTS_EXCHANGE,
        (KitProbe.TYPE,),
        delivery_limit=2,
    )
    broker = make_broker(amqp_url, service_name="kit-test", telemetry=None)
    consumer = Consumer("kit-poison", spec, prefetch=4)
    processed: list[int] = []
    attempts: dict[int, int] = {}

    @consumer.on(KitProbe)
    async def handle(event: KitProbe, delivery: Delivery) -> None:
        attempts[event.n] = attempts.get(event.n, 0) + 1
        if event.poison:
            raise ValueError("this message can never be handled")
        processed.append(event.n)

    consumer.attach(broker)
    await broker.connect()
    await declare_queue(broker, spec)
    await broker.start()
    try:
        for n, poison in [(1, True), (2, False), (3, False), (4, False)]:
            await publish_envelope(
                broker,
                Envelope.wrap(KitProbe(n=n, poison=poison), producer="t"),
                exchange=EVENTS_EXCHANGE,
                routing_key=KitProbe.TYPE,
            )
        # Not JSON at all: rejected at once, straight to the DLQ.
        exchange = await raw_channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(aio_pika.Message(b"\xff not json"), routing_key=KitProbe.TYPE)

        await wait_until(lambda: _true(sorted(processed) == [2, 3, 4]), timeout_s=30)
        dead = await drain(raw_channel, spec.dead_letter_queue, expected=2, timeout_s=60)
        bodies = [m.body for m in dead]
        assert len(bodies) == 2
        assert b"\xff not json" in bodies
        poison = next(b for b in bodies if b != b"\xff not json")
        assert Envelope.model_validate_json(poison).open() == KitProbe(n=1, poison=True)
        assert attempts[1] == 1 + spec.delivery_limit  # first delivery + the limit, no more
        await asyncio.sleep(1)
        assert attempts[1] == 1 + spec.delivery_limit
    finally:
        await broker.stop()


async def _true(value: bool) -> bool:
    return value


async def test_unroutable_publish_raises_instead_of_vanishing(broker):
    envelope = Envelope.wrap(plan(5), producer="kit-test")
    with pytest.raises(Exception) as info:
        await publish_envelope(broker, envelope, exchange="folio.work", routing_key="nowhere")
    assert "NO_ROUTE" in str(info.value)


async def test_database_ping_and_search_path(database):
    await database.ping()
    async with database.transaction() as session:
        assert (await session.execute(text("SHOW search_path"))).scalar_one() == "translation"
