"""Consumers: one queue, handlers by message type, explicit acknowledgement.

The policy, in one place:
- a body that is not a valid envelope, or data that fails its contract, is rejected
  without requeue and goes straight to the queue's DLQ (it can never succeed);
- a message type with no handler here is acknowledged and skipped;
- with a database, the handler runs in a transaction that first claims the message in
  the inbox (a duplicate changes nothing) and the message is acknowledged only after
  that transaction commits;
- any other failure waits a little (growing with the delivery count) and is negatively
  acknowledged with requeue; after the queue's delivery limit RabbitMQ dead-letters it;
- a handler that raises ``Defer(seconds)`` has its message republished to a delay queue
  (same id and body) and acknowledged: it comes back to this queue later (``delay.py``),
  and a copy that comes back early is sent round again without reaching the handler.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.exceptions import RejectMessage
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.annotations import RabbitMessage
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from folio.contracts import Message
from folio.db.engine import Database
from folio.messaging.broker import publish_envelope
from folio.messaging.delay import (
    DELAY_EXCHANGE,
    Defer,
    deferral_state,
    deferred_headers,
    remaining_s,
)
from folio.messaging.envelope import Envelope
from folio.messaging.inbox import Inbox
from folio.messaging.topology import BroadcastQueue, QueueSpec

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Delivery:
    """What a handler gets besides the typed message."""

    envelope: Envelope
    session: AsyncSession | None
    delivery_count: int
    # How often and for how long in all this message was deferred (``Defer``), and what
    # the handler carried over from before.
    deferrals: int = 0
    deferred_s: float = 0.0
    carried: dict[str, Any] | None = None


Handler = Callable[[Message, Delivery], Awaitable[None]]


def retry_delay_s(delivery_count: int) -> float:
    """Pause before a requeue so a transient outage is not burnt through in milliseconds."""
    return min(0.25 * (2**delivery_count), 8.0)


class Consumer:
    def __init__(
        self,
        name: str,
        queue: QueueSpec | BroadcastQueue,
        *,
        database: Database | None = None,
        inbox: Inbox | None = None,
        prefetch: int = 10,
    ) -> None:
        if (database is None) != (inbox is None):
            raise ValueError("a consumer with a database needs an inbox, and vice versa")
        self.name = name
        self.queue = queue
        self.database = database
        self.inbox = inbox
        self.prefetch = prefetch
        self.handlers: dict[str, Handler] = {}
        self._broker: RabbitBroker | None = None

    def on(self, contract: type[M]) -> Callable[[Callable[[M, Delivery], Awaitable[None]]], Any]:
        def register(func: Callable[[M, Delivery], Awaitable[None]]) -> Any:
            if contract.TYPE in self.handlers:
                raise ValueError(f"{self.name} already handles {contract.TYPE}")
            self.handlers[contract.TYPE] = func  # type: ignore[assignment]
            return func

        return register

    def attach(self, broker: RabbitBroker) -> None:
        self._broker = broker

        @broker.subscriber(
            self.queue.rabbit_queue(),
            self.queue.subscriber_exchange(),
            channel=Channel(prefetch_count=self.prefetch),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            no_reply=True,
            title=self.name,
        )
        async def _consume(message: RabbitMessage) -> None:
            await self.process(message.body, _delivery_count(message.headers), message.headers)

    async def process(
        self, body: bytes, delivery_count: int = 0, headers: dict[str, Any] | None = None
    ) -> None:
        try:
            envelope = Envelope.model_validate_json(body)
        except ValidationError as exc:
            log.error("%s: rejecting a message that is not a valid envelope: %s", self.name, exc)
            raise RejectMessage() from exc
        handler = self.handlers.get(envelope.type)
        if handler is None:
            log.debug("%s: no handler for %s, skipping", self.name, envelope.type)
            return
        try:
            message = envelope.open()
        except ValidationError as exc:
            log.error("%s: rejecting %s %s: %s", self.name, envelope.type, envelope.message_id, exc)
            raise RejectMessage() from exc
        early = remaining_s(headers)
        if early > 0.5:  # a long deferral, still under way: one more hop
            await self._send_to_delay(envelope, headers, early, carry=None, again=True)
            return
        count, total, carried = deferral_state(headers)
        delivery = Delivery(envelope, None, delivery_count, count, total, carried)
        try:
            await self._handle(handler, message, delivery)
        except Defer as defer:
            log.info(
                "%s: %s %s deferred for %.0f s (%s)",
                self.name,
                envelope.type,
                envelope.message_id,
                defer.delay_s,
                defer.reason,
            )
            await self._send_to_delay(envelope, headers, defer.delay_s, defer.carry, again=False)
            return
        except RejectMessage:
            raise
        except Exception:
            log.exception(
                "%s: handling %s %s failed (delivery %d)",
                self.name,
                envelope.type,
                envelope.message_id,
                delivery_count + 1,
            )
            await asyncio.sleep(retry_delay_s(delivery_count))
            raise

    async def _send_to_delay(
        self,
        envelope: Envelope,
        headers: dict[str, Any] | None,
        delay_s: float,
        carry: dict[str, Any] | None,
        *,
        again: bool,
    ) -> None:
        if self._broker is None:
            raise RuntimeError(f"{self.name} is not attached to a broker: cannot defer")
        await publish_envelope(
            self._broker,
            envelope,
            exchange=DELAY_EXCHANGE,
            routing_key=self.queue.name,
            headers=deferred_headers(headers, delay_s, carry=carry, again=again),
        )

    async def _handle(self, handler: Handler, message: Message, delivery: Delivery) -> None:
        envelope = delivery.envelope
        if self.database is None or self.inbox is None:
            await handler(message, delivery)
            return
        async with self.database.transaction() as session:
            if not await self.inbox.claim(session, self.name, envelope):
                log.info(
                    "%s: duplicate %s %s ignored", self.name, envelope.type, envelope.message_id
                )
                return
            await handler(message, dataclasses.replace(delivery, session=session))


def _delivery_count(headers: dict[str, Any] | None) -> int:
    # Quorum queues count earlier deliveries in x-delivery-count (absent on the first).
    try:
        return int((headers or {}).get("x-delivery-count", 0))
    except (TypeError, ValueError):
        return 0
