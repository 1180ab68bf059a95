"""Request/reply against a real RabbitMQ: answers reach the process that asked (many at
once, in any order), a silent responder is a timeout, and answering a requester that is
gone is no error."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from folio.contracts import Reply, Request
from folio.messaging import Consumer, Delivery, Envelope, declare_topology, make_broker
from folio.messaging.rpc import RpcClient, RpcTimeout, past_deadline, reply
from folio.messaging.topology import WORKER_ANALYSIS


class Echo(Request):
    TYPE: ClassVar[str] = "test.kit.echo.v1"
    QUEUE: ClassVar[str] = WORKER_ANALYSIS.name

    n: int
    delay_s: float = 0.0


class Echoed(Reply):
    TYPE: ClassVar[str] = "test.kit.echoed.v1"

    n: int


@pytest.fixture
async def brokers(module_amqp_url):
    requester = make_broker(module_amqp_url, service_name="kit-requester", telemetry=None)
    responder = make_broker(module_amqp_url, service_name="kit-responder", telemetry=None)
    client = RpcClient("kit-requester")
    client.attach(requester)
    seen: list[Echo] = []
    consumer = Consumer("kit-responder", WORKER_ANALYSIS, prefetch=20)

    @consumer.on(Echo)
    async def answer(request: Echo, delivery: Delivery) -> None:
        seen.append(request)
        if request.n < 0:
            return  # a responder that never answers
        await asyncio.sleep(request.delay_s)
        await reply(responder, request, delivery.envelope, Echoed(n=request.n * 10), "kit")

    consumer.attach(responder)
    for broker in (requester, responder):
        await broker.connect()
        await declare_topology(broker)
        await broker.start()
    queue = await requester.declare_queue(WORKER_ANALYSIS.rabbit_queue())
    await queue.purge()
    yield client, requester, responder, seen
    for broker in (requester, responder):
        await broker.stop()


async def test_concurrent_requests_get_their_own_answers(brokers) -> None:
    client, *_ = brokers
    # Answers come back in another order than the questions went: each reaches its caller.
    delays = [0.8, 0.4, 0.0, 0.6, 0.2]
    answers = await asyncio.gather(
        *(client.request(Echo(n=i, delay_s=d), timeout_s=30) for i, d in enumerate(delays))
    )
    assert [a.n for a in answers] == [0, 10, 20, 30, 40]  # type: ignore[attr-defined]
    assert all(isinstance(a, Echoed) for a in answers)


async def test_no_answer_is_a_timeout_and_a_late_one_is_dropped(brokers) -> None:
    client, _requester, responder, seen = brokers
    with pytest.raises(RpcTimeout):
        await client.request(Echo(n=-1), timeout_s=0.5)
    (asked,) = [r for r in seen if r.n == -1]
    assert asked.reply_to == client.reply_queue and asked.deadline is not None
    await asyncio.sleep(0.6)
    assert past_deadline(asked)
    # Answering now (nobody waits), or answering a queue that no longer exists: no error.
    stale = Envelope.wrap(asked, producer="kit")
    await reply(responder, asked, stale, Echoed(n=1), "kit")
    gone = asked.model_copy(update={"reply_to": "kit-requester.replies.gone"})
    await reply(responder, gone, stale, Echoed(n=1), "kit")
    answer = await client.request(Echo(n=7), timeout_s=30)
    assert answer.n == 70  # type: ignore[attr-defined]
