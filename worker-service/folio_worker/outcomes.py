"""How a command's outcome leaves the worker: one result event, published before the
command is acknowledged, with an id derived from the command's (so a redelivered command
yields a duplicate that translation-service's inbox drops)."""

from __future__ import annotations

import logging

from folio.contracts import Event
from folio.messaging import Defer, Delivery, Publisher, derived_message_id
from folio.messaging.topology import DEFAULT_DELIVERY_LIMIT
from folio_worker.engine.calls import CallCollector
from folio_worker.llm import LLMDeferred
from folio_worker.tasks import with_task_run

log = logging.getLogger(__name__)


def last_attempt(delivery: Delivery) -> bool:
    """Whether this is the last delivery the queue allows before dead-lettering."""
    return delivery.delivery_count + 1 >= DEFAULT_DELIVERY_LIMIT


def defer_or_reason(
    exc: LLMDeferred, delivery: Delivery, collector: CallCollector, budget_s: float
) -> str:
    """Raise ``Defer`` while the command may still wait; past ``budget_s`` of waiting in
    all, the reason it fails instead. The calls made so far need not travel with the
    deferred copy: the usage journal has reported each of them already."""
    if delivery.deferred_s + exc.retry_after_s <= budget_s:
        raise Defer(exc.retry_after_s, exc.reason) from exc
    hours = delivery.deferred_s / 3600
    return f"The model provider kept this waiting for {hours:.1f} hours ({exc.reason})."


def gave_up(what: str, exc: Exception) -> str:
    """The job's failure reason after an unexpected error on every delivery. The error's
    text stays in the logs (it may hold anything); the job gets its kind only."""
    log.error("%s failed on its last delivery", what, exc_info=exc)
    return (
        f"An internal error stopped {what} ({type(exc).__name__}) after "
        f"{DEFAULT_DELIVERY_LIMIT} attempts."
    )


async def publish_outcome(
    publisher: Publisher, event: Event, delivery: Delivery, purpose: str
) -> None:
    """Publish the command's result; a success carries its task run (task monitoring)."""
    await publisher.publish(
        await with_task_run(event),
        message_id=derived_message_id(delivery.envelope.message_id, purpose),
        correlation_id=delivery.envelope.correlation_id,
    )
