"""The RabbitMQ topology, decided once, here.

Queue arguments cannot change after a queue exists ("inequivalent arg"), so queue type,
delivery limit and dead-lettering are fixed in this one place for every queue:
durable quorum queues, ``x-delivery-limit`` redeliveries, then the message moves to
``<queue>.dlq`` through ``folio.dlx``. Every service declares the whole topology at
start, so a command published before its consumer ever ran still has a queue to land in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from folio.contracts import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    WORK_EXCHANGE,
    JobAssembled,
    JobAssemblyFailed,
    JobPlanned,
    JobPlanningFailed,
    JobPlanningPaused,
    SegmentTranslated,
    SegmentTranslationFailed,
    UsageRecorded,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from folio.contracts.translation import (
    WORKER_ASSEMBLE_QUEUE,
    WORKER_PLAN_QUEUE,
    WORKER_SEGMENT_QUEUE,
)
from folio.messaging.delay import DELAY_EXCHANGE_SPEC, delay_queues

DEFAULT_DELIVERY_LIMIT = 5

EXCHANGES = (
    RabbitExchange(EVENTS_EXCHANGE, type=ExchangeType.TOPIC, durable=True),
    RabbitExchange(WORK_EXCHANGE, type=ExchangeType.DIRECT, durable=True),
    RabbitExchange(DEAD_LETTER_EXCHANGE, type=ExchangeType.TOPIC, durable=True),
    DELAY_EXCHANGE_SPEC,  # deferred messages wait in its TTL queues (see delay.py)
)


@dataclass(frozen=True)
class QueueSpec:
    name: str
    exchange: str
    routing_keys: tuple[str, ...]
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"

    def arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": self.name,
            # at-least-once dead-lettering: a poison message is never dropped on the way
            # to its DLQ (requires reject-publish overflow).
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def rabbit_queue(self) -> RabbitQueue:
        return RabbitQueue(
            self.name,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments=self.arguments(),  # type: ignore[arg-type]
        )

    def rabbit_dead_letter_queue(self) -> RabbitQueue:
        return RabbitQueue(
            self.dead_letter_queue,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )


def _events(*contracts: type) -> tuple[str, ...]:
    return tuple(c.TYPE for c in contracts)  # type: ignore[attr-defined]


WORKER_PLAN = QueueSpec(WORKER_PLAN_QUEUE, WORK_EXCHANGE, (WORKER_PLAN_QUEUE,))
WORKER_SEGMENT = QueueSpec(WORKER_SEGMENT_QUEUE, WORK_EXCHANGE, (WORKER_SEGMENT_QUEUE,))
WORKER_ASSEMBLE = QueueSpec(WORKER_ASSEMBLE_QUEUE, WORK_EXCHANGE, (WORKER_ASSEMBLE_QUEUE,))
TRANSLATION_EVENTS = QueueSpec(
    "translation-service.events",
    EVENTS_EXCHANGE,
    _events(
        JobPlanned,
        JobPlanningFailed,
        JobPlanningPaused,
        SegmentTranslated,
        SegmentTranslationFailed,
        JobAssembled,
        JobAssemblyFailed,
    ),
)
COMMUNITY_EVENTS = QueueSpec(
    "community-service.events",
    EVENTS_EXCHANGE,
    _events(UserCreated, UserUpdated, UserDeleted),
)

# user-service's read models: the token-usage dashboard.
USER_EVENTS = QueueSpec(
    "user-service.events",
    EVENTS_EXCHANGE,
    _events(UsageRecorded),
)

QUEUES: tuple[QueueSpec, ...] = (
    WORKER_PLAN,
    WORKER_SEGMENT,
    WORKER_ASSEMBLE,
    TRANSLATION_EVENTS,
    COMMUNITY_EVENTS,
    USER_EVENTS,
)


def queue_spec(name: str) -> QueueSpec:
    for spec in QUEUES:
        if spec.name == name:
            return spec
    raise KeyError(name)


async def declare_queue(broker: RabbitBroker, spec: QueueSpec) -> None:
    """Declare one queue with its bindings and its dead-letter queue (idempotent)."""
    exchanges = {ex.name: await broker.declare_exchange(ex) for ex in EXCHANGES}
    queue = await broker.declare_queue(spec.rabbit_queue())
    for key in spec.routing_keys:
        await queue.bind(exchanges[spec.exchange], routing_key=key)
    dlq = await broker.declare_queue(spec.rabbit_dead_letter_queue())
    await dlq.bind(exchanges[DEAD_LETTER_EXCHANGE], routing_key=spec.name)


async def declare_delay_queues(broker: RabbitBroker) -> None:
    """The delay queues of ``Defer`` (idempotent)."""
    exchange = await broker.declare_exchange(DELAY_EXCHANGE_SPEC)
    for queue, binding in delay_queues():
        declared = await broker.declare_queue(queue)
        await declared.bind(exchange, arguments=binding)


async def declare_topology(broker: RabbitBroker) -> None:
    """Declare every exchange, queue, binding and dead-letter queue (idempotent)."""
    for spec in QUEUES:
        await declare_queue(broker, spec)
    await declare_delay_queues(broker)
