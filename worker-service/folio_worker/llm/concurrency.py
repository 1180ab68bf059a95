"""A cap on simultaneous requests per key: per process, or across every replica (Redis).

Several jobs (hence several ``LLMClient`` instances) and several worker replicas may share
a key, and providers throttle or drop connections beyond a few dozen parallel requests
per key (a local server has a handful of slots), so the cap belongs to the key.

``RedisConcurrency`` keeps the key's holders as leases in a sorted set (score: when the
lease lapses, on Redis's clock). A holder renews its lease while its call runs, so a
crashed replica's slots come back within ``LEASE_S``. Waiters poll with a short jittered
back-off and are woken at once when a holder of their own process lets go; a local
semaphore in front keeps one process from polling more than the cap. While Redis is
down the cap is per process (logged once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

LEASE_S = 30.0
_RENEW_EVERY_S = LEASE_S / 3
_POLL_MIN_S = 0.01
_POLL_MAX_S = 0.25
_REDIS_RETRY_AFTER_S = 15.0

# KEYS[1]: the key's lease set. ARGV: lease id, limit, lease µs. Returns 1 when taken.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[3]) / 1000) * 2)
  return 1
end
return 0
"""

# KEYS[1]: the lease set. ARGV: lease id, lease µs. Extends a lease still held.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
"""


class ConcurrencyLimiter(Protocol):
    def slot(self, key_id: str, limit: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold one of the key's ``limit`` slots for the duration of the block."""
        ...


_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def key_semaphore(key_id: str, limit: int) -> asyncio.Semaphore:
    """The semaphore of ``key_id`` in the running loop; ``limit`` counts only on creation.
    (Semaphores are bound to an event loop, so the registry is kept per loop.)"""
    loop = asyncio.get_running_loop()
    per_loop = _registry.setdefault(loop, {})
    semaphore = per_loop.get(key_id)
    if semaphore is None:
        semaphore = per_loop[key_id] = asyncio.Semaphore(max(1, limit))
    return semaphore


class LocalConcurrency:
    """The cap within this process."""

    @contextlib.asynccontextmanager
    async def slot(self, key_id: str, limit: int) -> AsyncIterator[None]:
        async with key_semaphore(key_id, limit):
            yield


class RedisConcurrency:
    """The cap across every process that shares this Redis and prefix."""

    def __init__(self, client: aioredis.Redis, prefix: str = "folio:slots") -> None:
        self._redis = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._released: dict[str, asyncio.Event] = {}
        self._down_until = 0.0
        self._warned = False

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + _REDIS_RETRY_AFTER_S
        if not self._warned:
            self._warned = True
            log.warning(
                "concurrency cap: Redis unavailable (%s); capping per process instead",
                type(exc).__name__,
            )

    @contextlib.asynccontextmanager
    async def slot(self, key_id: str, limit: int) -> AsyncIterator[None]:
        async with key_semaphore(key_id, limit):
            lease = await self._lease(key_id, limit)
            renewal = asyncio.create_task(self._keep(key_id, lease)) if lease is not None else None
            try:
                yield
            finally:
                if renewal is not None:
                    renewal.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewal
                if lease is not None:
                    await self._give_back(key_id, lease)

    def _name(self, key_id: str) -> str:
        return f"{self._prefix}:{key_id}"

    async def _lease(self, key_id: str, limit: int) -> str | None:
        """A lease id once a slot is ours; ``None`` when Redis is down (local cap only)."""
        lease = uuid.uuid4().hex
        delay = _POLL_MIN_S
        while True:
            if time.monotonic() < self._down_until:
                return None
            try:
                taken = await self._take(
                    keys=[self._name(key_id)], args=[lease, limit, round(LEASE_S * 1e6)]
                )
            except (RedisError, OSError) as exc:
                self._failed(exc)
                return None
            if self._warned:
                self._warned = False
                log.info("concurrency cap: Redis is back; the cap is shared again")
            if int(taken):
                return lease
            released = self._released.setdefault(key_id, asyncio.Event())
            released.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), delay * random.uniform(0.5, 1.0))  # noqa: S311
            delay = min(_POLL_MAX_S, delay * 2)

    async def _keep(self, key_id: str, lease: str) -> None:
        while True:
            await asyncio.sleep(_RENEW_EVERY_S)
            with contextlib.suppress(RedisError, OSError):
                await self._renew(keys=[self._name(key_id)], args=[lease, round(LEASE_S * 1e6)])

    async def _give_back(self, key_id: str, lease: str) -> None:
        try:
            await self._redis.zrem(self._name(key_id), lease)
        except (RedisError, OSError) as exc:
            self._failed(exc)  # the lease lapses by itself
        event = self._released.get(key_id)
        if event is not None:
            event.set()
