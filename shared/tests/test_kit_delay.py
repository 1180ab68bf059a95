"""Deferred redelivery (``Defer``) against the real RabbitMQ: the message leaves its queue,
waits in a TTL'd delay queue and comes back to the same queue only, with what the handler
carried over; nothing is held unacknowledged meanwhile."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import ClassVar

import pytest

from folio.contracts import EVENTS_EXCHANGE, Event
from folio.messaging import Consumer, Defer, Delivery, Envelope, make_broker, publish_envelope
from folio.messaging.delay import (
    CARRY_HEADER,
    DEFERRALS_HEADER,
    MAX_CARRY_BYTES,
    NOT_BEFORE_HEADER,
    deferred_headers,
    step_for,
)
from folio.messaging.topology import QueueSpec, declare_delay_queues, declare_queue
from folio_devstack.pytest_plugin import wait_until


class DelayProbe(Event):
    TYPE: ClassVar[str] = "test.kit.delay_probe.v1"
    n: int


async def _true(value: bool) -> bool:
    return value


def test_steps_round_up_and_cap() -> None:
    assert [step_for(s) for s in (0, 0.5, 1, 3, 59, 61, 299, 5000)] == [
        1, 1, 1, 5, 60, 120, 300, 300,
    ]  # fmt: skip


def test_what_a_deferred_copy_carries_stays_within_one_header_frame() -> None:
    small = deferred_headers({}, 5.0, carry={"calls": [{"input": 7}]}, again=False)
    assert json.loads(small[CARRY_HEADER]) == {"calls": [{"input": 7}]}
    # Far more than a header may hold: the copy is still deferred, without the carry.
    huge = {"calls": [{"call_id": uuid.uuid4().hex, "outcome": "429"} for _ in range(3000)]}
    headers = deferred_headers({}, 5.0, carry=huge, again=False)
    assert len(json.dumps(huge)) > MAX_CARRY_BYTES
    assert json.loads(headers[CARRY_HEADER]) == {}
    assert headers[DEFERRALS_HEADER] == 1 and headers[NOT_BEFORE_HEADER]
    total = sum(len(str(k)) + len(str(v)) for k, v in headers.items())
    assert total <= MAX_CARRY_BYTES


@pytest.fixture
async def queues(module_amqp_url):
    """Two queues bound to the same event: a deferral must come back to its own only."""
    suffix = uuid.uuid4().hex[:6]
    specs = [
        QueueSpec(f"kit-test.delay-a-{suffix}", EVENTS_EXCHANGE, (DelayProbe.TYPE,)),
        QueueSpec(f"kit-test.delay-b-{suffix}", EVENTS_EXCHANGE, (DelayProbe.TYPE,)),
    ]
    return module_amqp_url, specs


async def test_a_deferred_message_comes_back_to_its_queue_with_what_it_carried(queues) -> None:
    url, (spec_a, spec_b) = queues
    broker = make_broker(url, service_name="kit-test", telemetry=None)
    seen_a: list[tuple[int, int, float, dict, float]] = []
    seen_b: list[int] = []
    a = Consumer("kit-delay-a", spec_a, prefetch=2)
    b = Consumer("kit-delay-b", spec_b, prefetch=2)

    @a.on(DelayProbe)
    async def handle_a(event: DelayProbe, delivery: Delivery) -> None:
        seen_a.append(
            (
                event.n,
                delivery.deferrals,
                delivery.deferred_s,
                dict(delivery.carried or {}),
                time.monotonic(),
            )
        )
        if delivery.deferrals == 0:
            raise Defer(1.0, "the provider asked to wait", carry={"calls": [{"input": 7}]})

    @b.on(DelayProbe)
    async def handle_b(event: DelayProbe, delivery: Delivery) -> None:
        seen_b.append(event.n)

    a.attach(broker)
    b.attach(broker)
    await broker.connect()
    for spec in (spec_a, spec_b):
        await declare_queue(broker, spec)
    await declare_delay_queues(broker)
    await broker.start()
    try:
        envelope = Envelope.wrap(DelayProbe(n=1), producer="t")
        await publish_envelope(
            broker, envelope, exchange=EVENTS_EXCHANGE, routing_key=DelayProbe.TYPE
        )
        await wait_until(lambda: _true(len(seen_a) == 2), timeout_s=20)
        first, second = seen_a
        assert (first[0], first[1], first[3]) == (1, 0, {})
        assert (second[0], second[1], second[3]) == (1, 1, {"calls": [{"input": 7}]})
        assert second[2] == pytest.approx(1.0)
        assert second[4] - first[4] >= 0.9  # it waited in the delay queue
        await asyncio.sleep(0.5)
        assert seen_b == [1]  # the other service's queue got the event once, not again
        assert len(seen_a) == 2
    finally:
        await broker.stop()


async def test_an_early_copy_goes_round_again_without_reaching_the_handler(queues) -> None:
    url, (spec, _) = queues
    broker = make_broker(url, service_name="kit-test", telemetry=None)
    handled: list[float] = []
    consumer = Consumer("kit-delay-early", spec, prefetch=2)

    @consumer.on(DelayProbe)
    async def handle(event: DelayProbe, delivery: Delivery) -> None:
        handled.append(time.time())

    consumer.attach(broker)
    await broker.connect()
    await declare_queue(broker, spec)
    await declare_delay_queues(broker)
    await broker.start()
    try:
        due = time.time() + 0.9  # as if a long deferral had one more hop to go
        await publish_envelope(
            broker,
            Envelope.wrap(DelayProbe(n=2), producer="t"),
            exchange=EVENTS_EXCHANGE,
            routing_key=DelayProbe.TYPE,
            headers={NOT_BEFORE_HEADER: f"{due:.3f}"},
        )
        await wait_until(lambda: _true(len(handled) == 1), timeout_s=20)
        assert handled[0] >= due - 0.5
    finally:
        await broker.stop()
