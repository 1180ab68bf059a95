"""The RabbitMQ topology, decided once, here.

Queue arguments cannot change after a queue exists ("inequivalent arg"), so queue type,
delivery limit and dead-lettering are fixed in this one place for every queue:
durable quorum queues, ``x-delivery-limit`` redeliveries, then the message moves to
``<queue>.dlq`` through ``folio.dlx``. Every service declares the whole topology at
start, so a command published before its consumer ever ran still has a queue to land in.

One exception, for fan-out: a :class:`BroadcastSpec` is a transient queue per process
(exclusive, auto-deleted, bounded), so that every replica receives every matching event,
e.g. to push announcements to the clients connected to it. Its messages are hints that
the receiver can always recompute from its database, so it has no dead-letter queue, and
only the process that consumes it declares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue

from folio.contracts import (
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    WORK_EXCHANGE,
    AnalysisCallsRecorded,
    CallsRecorded,
    JobAssembled,
    JobAssemblyFailed,
    JobCancelled,
    JobPlanned,
    JobPlanningFailed,
    JobPlanningPaused,
    SegmentPaused,
    SegmentTranslated,
    SegmentTranslationFailed,
    TaskCancelled,
    TaskFailed,
    TaskProgressed,
    TaskRetried,
    TaskStarted,
    TaskSucceeded,
    UsageRecorded,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from folio.contracts.analysis import WORKER_ANALYSIS_QUEUE
from folio.contracts.announcements import ANNOUNCEMENT_EVENTS, ANNOUNCEMENT_EVENTS_PATTERN
from folio.contracts.community import BOARD_EVENTS
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

    def subscriber_exchange(self) -> RabbitExchange | None:
        """None: the topology declares this queue's bindings, not its subscriber."""
        return None

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
# Analysis without a job (request/reply: folio.messaging.rpc).
WORKER_ANALYSIS = QueueSpec(WORKER_ANALYSIS_QUEUE, WORK_EXCHANGE, (WORKER_ANALYSIS_QUEUE,))
TRANSLATION_EVENTS = QueueSpec(
    "translation-service.events",
    EVENTS_EXCHANGE,
    _events(
        JobPlanned,
        JobPlanningFailed,
        JobPlanningPaused,
        SegmentTranslated,
        SegmentTranslationFailed,
        SegmentPaused,
        CallsRecorded,
        AnalysisCallsRecorded,
        JobAssembled,
        JobAssemblyFailed,
        # Task monitoring (task_executions).
        TaskStarted,
        TaskProgressed,
        TaskRetried,
        TaskSucceeded,
        TaskFailed,
        TaskCancelled,
    ),
)
# community-service: the author read model (user events) and its own board events,
# which invalidate its shared read cache whichever replica made the change.
COMMUNITY_EVENTS = QueueSpec(
    "community-service.events",
    EVENTS_EXCHANGE,
    _events(UserCreated, UserUpdated, UserDeleted, *BOARD_EVENTS),
)

# user-service's read models: the token-usage dashboard; its own announcement events
# invalidate the shared announcements cache.
USER_EVENTS = QueueSpec(
    "user-service.events",
    EVENTS_EXCHANGE,
    _events(UsageRecorded, *ANNOUNCEMENT_EVENTS),
)

# Workers learn that a job was cancelled (one replica records it where all of them look).
WORKER_CONTROL = QueueSpec("worker-service.control", EVENTS_EXCHANGE, _events(JobCancelled))

QUEUES: tuple[QueueSpec, ...] = (
    WORKER_PLAN,
    WORKER_SEGMENT,
    WORKER_ASSEMBLE,
    WORKER_ANALYSIS,
    TRANSLATION_EVENTS,
    COMMUNITY_EVENTS,
    USER_EVENTS,
    WORKER_CONTROL,
)


@dataclass(frozen=True)
class BroadcastSpec:
    """A queue per process, bound by a topic pattern: every replica gets every event.

    Classic (quorum queues cannot be exclusive), non-durable, exclusive to its
    connection and deleted with it; bounded so a stuck process cannot fill the broker's
    memory (the oldest hints are dropped: the newest one is the one that matters).
    """

    prefix: str
    exchange: str
    pattern: str
    max_length: int = 1000

    def for_process(self, instance: str) -> BroadcastQueue:
        return BroadcastQueue(self, f"{self.prefix}.{instance}")


@dataclass(frozen=True)
class BroadcastQueue:
    spec: BroadcastSpec
    name: str

    @property
    def routing_keys(self) -> tuple[str, ...]:
        return (self.spec.pattern,)

    def rabbit_queue(self) -> RabbitQueue:
        return RabbitQueue(
            self.name,
            durable=False,
            exclusive=True,
            auto_delete=True,
            routing_key=self.spec.pattern,
            arguments={
                "x-queue-type": "classic",
                "x-max-length": self.spec.max_length,
                "x-overflow": "drop-head",
            },
        )

    def subscriber_exchange(self) -> RabbitExchange:
        """The subscriber declares and binds this queue itself (and again on reconnect)."""
        return next(ex for ex in EXCHANGES if ex.name == self.spec.exchange)


# Every user-service replica pushes announcement changes to its own SSE clients.
ANNOUNCEMENT_BROADCAST = BroadcastSpec(
    "user-service.announcements", EVENTS_EXCHANGE, ANNOUNCEMENT_EVENTS_PATTERN
)
BROADCASTS: tuple[BroadcastSpec, ...] = (ANNOUNCEMENT_BROADCAST,)


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
