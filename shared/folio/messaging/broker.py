"""Broker factory and the one way to put a message on the bus.

FastStream's defaults are changed on purpose: every publish is persistent, mandatory
(an unroutable message raises instead of vanishing) and confirmed by the broker; the
channel raises on returned messages; one OpenTelemetry middleware traces publish and
consume and carries the W3C context in the AMQP headers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware

from folio.contracts import Message
from folio.messaging.envelope import Envelope
from folio.messaging.topology import EXCHANGES
from folio.telemetry import Telemetry

log = logging.getLogger(__name__)

_EXCHANGES = {exchange.name: exchange for exchange in EXCHANGES}
# Trace headers are always re-injected by the telemetry middleware at publish time.
_TRACE_HEADERS = {"traceparent", "tracestate", "baggage"}
PUBLISH_TIMEOUT_S = 10.0


def make_broker(
    url: str,
    *,
    service_name: str,
    telemetry: Telemetry | None,
    graceful_timeout_s: float = 20.0,
) -> RabbitBroker:
    middlewares = []
    if telemetry is not None:
        middlewares.append(
            RabbitTelemetryMiddleware(
                tracer_provider=telemetry.tracer_provider,
                meter_provider=telemetry.meter_provider,
            )
        )
    return RabbitBroker(
        url,
        app_id=service_name,
        default_channel=Channel(publisher_confirms=True, on_return_raises=True),
        middlewares=middlewares,
        graceful_timeout=graceful_timeout_s,
        reconnect_interval=2.0,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        logger=logging.getLogger("faststream"),
        # Per-message "Received/Processed" lines are debug detail, not operations news.
        log_level=logging.DEBUG,
        client_properties={"connection_name": service_name},
    )


async def publish_envelope(
    broker: RabbitBroker,
    envelope: Envelope | Mapping[str, Any],
    *,
    exchange: str,
    routing_key: str,
    headers: Mapping[str, Any] | None = None,
    timeout_s: float = PUBLISH_TIMEOUT_S,
) -> None:
    """Publish persistently, mandatorily, with a broker confirm, or raise."""
    if not isinstance(envelope, Envelope):
        envelope = Envelope.model_validate(envelope)
    clean_headers = {k: v for k, v in (headers or {}).items() if k not in _TRACE_HEADERS}
    clean_headers["folio-type"] = envelope.type
    # The timeout matters: a publish on a connection that is down would otherwise wait
    # for the reconnect, holding whatever called it.
    await asyncio.wait_for(
        broker.publish(
            envelope.model_dump_json().encode(),
            exchange=_EXCHANGES[exchange],
            routing_key=routing_key,
            mandatory=True,
            persist=True,
            message_id=str(envelope.message_id),
            correlation_id=envelope.correlation_id,
            message_type=envelope.type,
            timestamp=envelope.occurred_at,
            content_type="application/json",
            headers=clean_headers,
        ),
        timeout=timeout_s,
    )


class Publisher:
    """Direct publishing for services with no database (the worker).

    Services that own a database publish through their outbox instead, in the same
    transaction as the state change.
    """

    def __init__(self, broker: RabbitBroker, producer: str) -> None:
        self.broker = broker
        self.producer = producer

    async def publish(
        self,
        message: Message,
        *,
        message_id: uuid.UUID | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        envelope = Envelope.wrap(
            message,
            producer=self.producer,
            correlation_id=correlation_id,
            message_id=message_id,
        )
        await publish_envelope(
            self.broker,
            envelope,
            exchange=message.exchange(),
            routing_key=message.routing_key(),
        )
        return envelope
