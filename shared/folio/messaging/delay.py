"""Delayed redelivery: a handler that must wait raises ``Defer`` instead of waiting.

RabbitMQ closes a channel whose message stays unacknowledged past the consumer timeout,
and a message held in a handler also holds a prefetch slot. So a handler that cannot go
on yet (a model provider asks to come back in ten minutes) raises ``Defer(seconds)``: the
consumer republishes the message, unchanged and with the same message id, into a delay
queue and acknowledges the original. The delay queues are quorum queues with a fixed
message TTL (one per step in ``DELAY_STEPS_S``, so expiry is always at the head) bound to
the ``folio.delay`` headers exchange by a ``folio-delay`` header; they dead-letter through
the default exchange, whose routing key is the destination queue's name, so the message
comes back to exactly the queue it left (an event is not re-broadcast to other services).
A delay longer than the largest step takes several hops: ``folio-not-before`` says when
the message may be handled, and the consumer sends an early one round again.

Headers the deferred copy carries: ``folio-deferrals`` (how often), ``folio-deferred-s``
(for how long in all, so a handler can give up) and ``folio-carry`` (JSON the handler
passed on, e.g. the usage of calls made before it deferred).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from faststream.rabbit import ExchangeType, QueueType, RabbitExchange, RabbitQueue

log = logging.getLogger(__name__)

DELAY_EXCHANGE = "folio.delay"
DELAY_STEPS_S = (1, 5, 15, 30, 60, 120, 300)
DELAY_HEADER = "folio-delay"
NOT_BEFORE_HEADER = "folio-not-before"
DEFERRALS_HEADER = "folio-deferrals"
DEFERRED_S_HEADER = "folio-deferred-s"
CARRY_HEADER = "folio-carry"
# AMQP headers travel in one frame (128 KiB by default): keep what is carried well below.
MAX_CARRY_BYTES = 64 * 1024

DELAY_EXCHANGE_SPEC = RabbitExchange(DELAY_EXCHANGE, type=ExchangeType.HEADERS, durable=True)


class Defer(Exception):
    """Handle this message again in ``delay_s`` seconds (acknowledging it now)."""

    def __init__(self, delay_s: float, reason: str = "", carry: Mapping[str, Any] | None = None):
        super().__init__(reason or f"deferred for {delay_s:.0f} s")
        self.delay_s = max(0.0, delay_s)
        self.reason = reason
        self.carry = dict(carry or {})


def step_for(delay_s: float) -> int:
    """The delay queue to use: the shortest step that is not shorter than the delay."""
    for step in DELAY_STEPS_S:
        if step >= delay_s:
            return step
    return DELAY_STEPS_S[-1]


def delay_queue_name(step_s: int) -> str:
    return f"{DELAY_EXCHANGE}.{step_s}s"


def delay_queues() -> list[tuple[RabbitQueue, dict[str, str]]]:
    """Each delay queue with the binding arguments that route to it."""
    queues = []
    for step in DELAY_STEPS_S:
        queue = RabbitQueue(
            delay_queue_name(step),
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={  # type: ignore[arg-type]
                "x-queue-type": "quorum",
                "x-message-ttl": step * 1000,
                "x-dead-letter-exchange": "",  # the default exchange: back to the queue named
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        queues.append((queue, {"x-match": "all", DELAY_HEADER: f"{step}s"}))
    return queues


def not_before(headers: Mapping[str, Any] | None) -> float | None:
    try:
        value = (headers or {}).get(NOT_BEFORE_HEADER)
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def deferral_state(headers: Mapping[str, Any] | None) -> tuple[int, float, dict[str, Any]]:
    """``(deferrals, deferred seconds, carried data)`` from a message's headers."""
    headers = headers or {}
    try:
        count = int(headers.get(DEFERRALS_HEADER, 0))
        total = float(headers.get(DEFERRED_S_HEADER, 0.0))
    except (TypeError, ValueError):
        count, total = 0, 0.0
    raw = headers.get(CARRY_HEADER)
    carry: dict[str, Any] = {}
    if isinstance(raw, bytes | str):
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = None
        carry = loaded if isinstance(loaded, dict) else {}
    return count, total, carry


def deferred_headers(
    headers: Mapping[str, Any] | None,
    delay_s: float,
    *,
    carry: Mapping[str, Any] | None,
    again: bool,
) -> dict[str, Any]:
    """Headers of the copy sent to a delay queue. ``again``: an early message sent round
    once more (same deferral, no new count)."""
    kept = {
        k: v
        for k, v in (headers or {}).items()
        if not k.startswith("x-") and k not in (DELAY_HEADER, NOT_BEFORE_HEADER)
    }
    count, total, carried = deferral_state(headers)
    if not again:
        kept[DEFERRALS_HEADER] = count + 1
        kept[DEFERRED_S_HEADER] = f"{total + delay_s:.3f}"
        payload = json.dumps(dict(carry or {}) or carried, separators=(",", ":"))
        if len(payload.encode()) > MAX_CARRY_BYTES:
            # Deferring matters more than the hint: an oversized carry would fail the
            # republish and have the handler redo its work on every redelivery.
            log.error("deferred message: carried data (%d bytes) dropped", len(payload))
            payload = "{}"
        kept[CARRY_HEADER] = payload
    kept[DELAY_HEADER] = f"{step_for(delay_s)}s"
    kept[NOT_BEFORE_HEADER] = f"{time.time() + delay_s:.3f}"
    return kept


def remaining_s(headers: Mapping[str, Any] | None) -> float:
    due = not_before(headers)
    return 0.0 if due is None else max(0.0, due - time.time())


def whole_seconds(value: float) -> int:
    return max(1, math.ceil(value))
