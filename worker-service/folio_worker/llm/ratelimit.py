"""Requests-per-minute pacing per API key.

A user's key has one quota at the provider no matter how many worker replicas use it, so the
pacing must be shared: ``RedisRateLimiter`` keeps one "next free slot" per key in Redis and
reserves slots atomically. Pacing is an optimisation (the provider's 429s remain the real
limit, and the client handles them), so a Redis outage degrades to per-process pacing instead
of failing translations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Reserves the next slot for KEYS[1] and returns how long (µs) the caller must wait for it.
# The clock is Redis's own, so replicas with skewed clocks still agree on the schedule.
_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
local after = slot + interval
local ttl_ms = math.floor((after - now) / 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', ttl_ms)
return string.format('%.0f', slot - now)
"""

# After a Redis failure, do not try Redis again for this long (each try may cost a timeout).
_REDIS_RETRY_AFTER_S = 15.0


def interval_s(requests_per_minute: int) -> float:
    return 60.0 / max(1, requests_per_minute)


class RateLimiter(Protocol):
    async def acquire(self, key_id: str, requests_per_minute: int) -> None:
        """Wait until a request with this key may be sent (reserving that slot)."""
        ...


class InProcessRateLimiter:
    """Evenly spaced slots per key for the tasks of this process (one event loop)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    async def acquire(self, key_id: str, requests_per_minute: int) -> None:
        now = time.monotonic()
        slot = max(now, self._next.get(key_id, 0.0))
        self._next[key_id] = slot + interval_s(requests_per_minute)
        if slot > now:
            await asyncio.sleep(slot - now)


class RedisRateLimiter:
    """Slots shared by every replica through Redis; in-process pacing while Redis is down."""

    def __init__(self, client: aioredis.Redis, prefix: str = "folio:rpm") -> None:
        self._prefix = prefix
        self._redis = client
        self._script = self._redis.register_script(_RESERVE_SLOT)
        self._fallback = InProcessRateLimiter()
        self._down_until = 0.0
        self._warned = False

    async def acquire(self, key_id: str, requests_per_minute: int) -> None:
        if time.monotonic() >= self._down_until:
            interval_us = max(1, round(interval_s(requests_per_minute) * 1_000_000))
            try:
                wait_us = await self._script(keys=[f"{self._prefix}:{key_id}"], args=[interval_us])
            except (RedisError, OSError) as exc:
                self._down_until = time.monotonic() + _REDIS_RETRY_AFTER_S
                if not self._warned:
                    self._warned = True
                    log.warning(
                        "rate limiter: Redis unavailable (%s); pacing per process instead",
                        type(exc).__name__,
                    )
            else:
                if self._warned:
                    self._warned = False
                    log.info("rate limiter: Redis is back; pacing is shared again")
                wait = int(wait_us) / 1_000_000
                if wait > 0:
                    await asyncio.sleep(wait)
                return
        await self._fallback.acquire(key_id, requests_per_minute)
