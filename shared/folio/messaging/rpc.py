"""Request/reply over RabbitMQ, for questions a caller waits for (no state changes).

A request is a :class:`~folio.contracts.Request` command: published to its work queue
(persistent, confirmed, like every command) with ``reply_to`` naming this process's own
reply queue (exclusive, deleted with the connection) and a ``deadline``. The answer is a
:class:`~folio.contracts.Reply` sent back to that queue only, with the request's message
id as its correlation id; :meth:`RpcClient.request` waits for it, at most until the
deadline (:class:`RpcTimeout`).

Why not FastStream's ``broker.request``: it holds one lock for the whole wait, so a
process could wait for one answer at a time. Why not the outbox: a request changes no
state, and nobody needs it once its caller has gone; the responder drops requests past
their deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from pydantic import ValidationError

from folio.contracts import Message, Reply, Request
from folio.messaging.broker import PUBLISH_TIMEOUT_S, publish_envelope
from folio.messaging.envelope import Envelope

log = logging.getLogger(__name__)


class RpcTimeout(Exception):
    """No answer came before the deadline."""


class RpcClient:
    def __init__(self, producer: str, *, instance: str | None = None) -> None:
        self.producer = producer
        instance = instance or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.reply_queue = f"{producer}.replies.{instance}"
        self._waiting: dict[str, asyncio.Future[Message]] = {}
        self._broker: RabbitBroker | None = None

    def attach(self, broker: RabbitBroker) -> None:
        self._broker = broker

        # The subscriber declares the queue (again after a reconnect). Replies are hints
        # for whoever waits: no dead-lettering, bounded, gone with the connection.
        @broker.subscriber(
            RabbitQueue(
                self.reply_queue,
                durable=False,
                exclusive=True,
                auto_delete=True,
                arguments={"x-queue-type": "classic", "x-max-length": 10_000},
            ),
            ack_policy=AckPolicy.ACK_FIRST,
            no_reply=True,
            title=f"{self.producer}.replies",
        )
        async def _reply(message: RabbitMessage) -> None:
            self._deliver(message.body, message.correlation_id)

    def _deliver(self, body: bytes, correlation_id: str | None) -> None:
        waiter = self._waiting.get(correlation_id or "")
        if waiter is None or waiter.done():
            return  # its caller gave up
        try:
            waiter.set_result(Envelope.model_validate_json(body).open())
        except (ValidationError, ValueError) as exc:
            waiter.set_exception(exc)

    async def request(self, request: Request, *, timeout_s: float) -> Message:
        """Send ``request`` and wait for its reply (the reply message, validated)."""
        if self._broker is None:
            raise RuntimeError("the RPC client is not attached to a broker")
        deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
        message_id = uuid.uuid4()
        addressed = request.model_copy(update={"reply_to": self.reply_queue, "deadline": deadline})
        envelope = Envelope.wrap(
            addressed,
            producer=self.producer,
            message_id=message_id,
            correlation_id=str(message_id),
        )
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiting[str(message_id)] = waiter
        try:
            async with asyncio.timeout(timeout_s):
                await publish_envelope(
                    self._broker,
                    envelope,
                    exchange=request.exchange(),
                    routing_key=request.routing_key(),
                    timeout_s=min(PUBLISH_TIMEOUT_S, timeout_s),
                )
                return await waiter
        except TimeoutError as exc:
            raise RpcTimeout(f"no answer within {timeout_s:.0f} s") from exc
        finally:
            self._waiting.pop(str(message_id), None)


def past_deadline(request: Request) -> bool:
    return request.deadline is not None and request.deadline <= datetime.now(UTC)


async def reply(
    broker: RabbitBroker, request: Request, envelope: Envelope, answer: Reply, producer: str
) -> None:
    """Send ``answer`` to the requester's queue. A requester that is gone (its queue with
    it) is no error: nobody waits for this answer any more."""
    if not request.reply_to:
        return
    message = Envelope.wrap(answer, producer=producer)
    body: dict[str, Any] = {
        "exchange": None,  # the default exchange routes by queue name
        "routing_key": request.reply_to,
        "mandatory": False,
        "persist": False,
        "message_id": str(message.message_id),
        "correlation_id": str(envelope.message_id),
        "message_type": message.type,
        "content_type": "application/json",
    }
    await asyncio.wait_for(
        broker.publish(message.model_dump_json().encode(), **body), timeout=PUBLISH_TIMEOUT_S
    )
