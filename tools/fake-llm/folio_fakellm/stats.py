"""Request statistics and the bounded request log behind ``/_fake/stats`` and ``/_fake/requests``.

Benchmarks read token totals and peak concurrency from here; tests read exactly what prompt a
client sent. API keys are only ever stored as a short SHA-256 prefix.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any


def key_hash(key: str | None) -> str | None:
    """First 12 hex digits of SHA-256 of the key (never the key itself)."""
    if not key:
        return None
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


@dataclass
class RequestRecord:
    """One logged generation request."""

    seq: int
    at: float
    endpoint: str
    model: str
    key_hash: str | None
    prompt: str
    structured: bool
    schema_name: str | None
    outcome: str
    output: str
    prompt_tokens: int
    completion_tokens: int
    thought_tokens: int
    latency_ms: float
    # The client's own id for the call (``X-Client-Request-Id``), when it sent one.
    client_request_id: str | None = None


class Stats:
    """Thread-safe counters plus a ring buffer of the most recent requests."""

    def __init__(self, max_logged: int) -> None:
        self._lock = threading.Lock()
        self._max_logged = max_logged
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.by_endpoint: Counter[str] = Counter()
            self.by_outcome: Counter[str] = Counter()
            self.prompt_tokens = 0
            self.completion_tokens = 0
            self.thought_tokens = 0
            self.in_flight = 0
            self.max_in_flight = 0
            self._seq = 0
            self._log: deque[RequestRecord] = deque(maxlen=self._max_logged)

    @contextmanager
    def track(self) -> Iterator[None]:
        """Count a request as in flight for the duration of the block."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight = max(0, self.in_flight - 1)

    def count(self, endpoint: str, outcome: str) -> None:
        """Count a non-generation request (token, model listing, malformed body)."""
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1
            self.by_outcome[outcome] += 1

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def record(self, rec: RequestRecord) -> None:
        """Count and log a finished generation request."""
        with self._lock:
            self.requests += 1
            self.by_endpoint[rec.endpoint] += 1
            self.by_outcome[rec.outcome] += 1
            self.prompt_tokens += rec.prompt_tokens
            self.completion_tokens += rec.completion_tokens
            self.thought_tokens += rec.thought_tokens
            if self._max_logged > 0:
                self._log.append(rec)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "by_endpoint": dict(self.by_endpoint),
                "by_outcome": dict(self.by_outcome),
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "thought_tokens": self.thought_tokens,
                "max_in_flight": self.max_in_flight,
                "in_flight": self.in_flight,
                "logged": len(self._log),
            }

    def logged(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Retained records in arrival order, skipping ``offset`` of the oldest retained."""
        with self._lock:
            # records are appended on completion; ``seq`` is taken on arrival
            items = sorted(self._log, key=lambda r: r.seq)
        end = None if limit is None else offset + max(0, limit)
        return [asdict(r) for r in items[max(0, offset) : end]]
