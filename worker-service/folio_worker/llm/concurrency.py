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
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from folio_worker.llm.ratelimit import (
    NOW_LUA,
    RESERVE_LUA,
    Pace,
    RateLimiter,
    RedisRateLimiter,
    Reservation,
)

log = logging.getLogger(__name__)

LEASE_S = 30.0
_RENEW_EVERY_S = LEASE_S / 3
_POLL_MIN_S = 0.01
_POLL_MAX_S = 0.25
_REDIS_RETRY_AFTER_S = 15.0

# Takes one of the lease set's ``limit`` slots for ``lease_us`` (Redis clock); 1 when taken.
_TAKE_LUA = """
local function take(set, lease, limit, lease_us, now)
  redis.call('ZREMRANGEBYSCORE', set, '-inf', now)
  if redis.call('ZCARD', set) < limit then
    redis.call('ZADD', set, now + lease_us, lease)
    redis.call('PEXPIRE', set, math.floor(lease_us / 1000) * 2)
    return 1
  end
  return 0
end
"""

# KEYS[1]: the key's lease set. ARGV: lease id, limit, lease µs. Returns 1 when taken.
_TAKE = (
    NOW_LUA
    + _TAKE_LUA
    + "return take(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), now())"
)

# The same, and once the slot is taken the call's pacing reservation (``ratelimit.py``) in
# the same round trip. KEYS: the lease set, then the three pacing schedules. ARGV: lease
# id, limit, lease µs, then the reservation's three arguments. Returns {taken, status, µs}
# (nothing is reserved unless taken).
_TAKE_AND_RESERVE = (
    NOW_LUA
    + _TAKE_LUA
    + RESERVE_LUA
    + """
local t = now()
if take(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), t) == 0 then
  return {0, 0, '0'}
end
local r = reserve(KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[4]), tonumber(ARGV[5]),
                  tonumber(ARGV[6]), t)
return {1, r[1], r[2]}
"""
)

# KEYS[1]: the lease set. ARGV: lease id, lease µs. Extends a lease still held.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
"""


@dataclass(frozen=True)
class Pacing:
    """The pacing reservation a call makes once it holds a slot (``RateLimiter.reserve``)."""

    limiter: RateLimiter
    pace: Pace
    cost_tokens: int
    max_wait_s: float | None


class ConcurrencyLimiter(Protocol):
    def slot(
        self, key_id: str, limit: int, pacing: Pacing | None = None
    ) -> contextlib.AbstractAsyncContextManager[Reservation | None]:
        """Hold one of the key's ``limit`` slots for the duration of the block. With
        ``pacing``, the block may be given the reservation, made with the slot; ``None``
        means the caller reserves itself."""
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
    async def slot(
        self, key_id: str, limit: int, pacing: Pacing | None = None
    ) -> AsyncIterator[Reservation | None]:
        async with key_semaphore(key_id, limit):
            yield None


class RedisConcurrency:
    """The cap across every process that shares this Redis and prefix."""

    def __init__(self, client: aioredis.Redis, prefix: str = "folio:slots") -> None:
        self._redis = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)
        self._take_and_reserve = client.register_script(_TAKE_AND_RESERVE)
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
    async def slot(
        self, key_id: str, limit: int, pacing: Pacing | None = None
    ) -> AsyncIterator[Reservation | None]:
        """With ``pacing`` by a limiter on the same Redis, the slot and the reservation are
        one round trip (most calls find a free slot at once)."""
        async with key_semaphore(key_id, limit):
            lease, reservation = await self._lease(key_id, limit, pacing)
            renewal = asyncio.create_task(self._keep(key_id, lease)) if lease is not None else None
            try:
                yield reservation
            finally:
                if renewal is not None:
                    renewal.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewal
                if lease is not None:
                    await self._give_back(key_id, lease)

    def _name(self, key_id: str) -> str:
        return f"{self._prefix}:{key_id}"

    async def _lease(
        self, key_id: str, limit: int, pacing: Pacing | None
    ) -> tuple[str | None, Reservation | None]:
        """A lease id once a slot is ours (``None`` when Redis is down: local cap only),
        and the pacing reservation when it could be made with it."""
        lease = uuid.uuid4().hex
        delay = _POLL_MIN_S
        while True:
            if time.monotonic() < self._down_until:
                return None, None
            keys, args = [self._name(key_id)], [lease, limit, round(LEASE_S * 1e6)]
            limiter = pacing.limiter if pacing is not None else None
            combined = isinstance(limiter, RedisRateLimiter) and limiter.shares(self._redis)
            try:
                if isinstance(limiter, RedisRateLimiter) and pacing is not None and combined:
                    more_keys, more_args = limiter.reservation_script(
                        key_id, pacing.pace, pacing.cost_tokens, pacing.max_wait_s
                    )
                    taken, status, wait_us = await self._take_and_reserve(
                        keys=keys + more_keys, args=args + more_args
                    )
                else:
                    taken = await self._take(keys=keys, args=args)
            except (RedisError, OSError) as exc:
                self._failed(exc)
                return None, None
            if self._warned:
                self._warned = False
                log.info("concurrency cap: Redis is back; the cap is shared again")
            if int(taken):
                if isinstance(limiter, RedisRateLimiter) and combined:
                    return lease, limiter.reservation(status, wait_us)
                return lease, None
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
