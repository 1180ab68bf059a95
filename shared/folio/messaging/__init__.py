"""Messaging on RabbitMQ: topology, envelope, broker, outbox + relay, inbox, consumers."""

from folio.messaging.broker import Publisher, make_broker, publish_envelope
from folio.messaging.consumer import Consumer, Delivery
from folio.messaging.delay import Defer
from folio.messaging.envelope import Envelope, derived_message_id
from folio.messaging.inbox import Inbox
from folio.messaging.outbox import Outbox, OutboxRelay
from folio.messaging.topology import (
    BROADCASTS,
    QUEUES,
    BroadcastQueue,
    BroadcastSpec,
    QueueSpec,
    declare_topology,
    queue_spec,
)

__all__ = [
    "BROADCASTS",
    "QUEUES",
    "BroadcastQueue",
    "BroadcastSpec",
    "Consumer",
    "Defer",
    "Delivery",
    "Envelope",
    "Inbox",
    "Outbox",
    "OutboxRelay",
    "Publisher",
    "QueueSpec",
    "declare_topology",
    "derived_message_id",
    "make_broker",
    "publish_envelope",
    "queue_spec",
]
