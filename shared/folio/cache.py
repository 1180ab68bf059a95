"""A shared read cache in Redis for hot public reads, invalidated by events.

Entries live under a *generation*: ``<namespace>:<generation>:<key>``. A read takes the
current generation and the entry in one round trip; a miss builds the value from the
database and stores it under the generation it read *before* building. Invalidation
increments the generation (one ``INCR``, whichever replica or consumer does it), so
every older entry becomes unreachable at once and expires on its own. A value built from
data older than the invalidation can only be stored under the old generation, which no
one reads any more: there is no window where a stale value is put back.

Who may see a value is part of its key (the caller builds the key from the viewer's
scope), so one user's view is never served to another. Redis is an optimisation: when it
is unreachable, reads are built from the database and nothing fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.driver_info import DriverInfo
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 16
TIMEOUT_S = 1.0

# Built once: otherwise every connection reads the library's version from package
# metadata, which is slow to parse (it showed on the worker's hot path).
_DRIVER = DriverInfo().add_upstream_driver("folio", "1")

# KEYS[1] = the generation key; ARGV[1] = "<namespace>:", ARGV[2] = ":<key>".
_READ = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}
"""


def connect_redis(
    url: str, *, name: str, max_connections: int = MAX_CONNECTIONS, timeout_s: float = TIMEOUT_S
) -> aioredis.Redis:
    """One bounded, blocking pool per process with short timeouts: a burst borrows from a
    few long-lived connections instead of opening one each, and a hung Redis must not
    hang requests (Redis is an optimisation; callers fall back)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        client_name=name,  # how an operator tells our connections apart in CLIENT LIST
        timeout=timeout_s,  # waiting for a free connection
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        driver_info=_DRIVER,
    )
    return aioredis.Redis(connection_pool=pool)


class ReadCache:
    def __init__(self, redis: aioredis.Redis | None, namespace: str, *, ttl_s: int = 300) -> None:
        self.redis = redis
        self.namespace = namespace
        self.ttl_s = ttl_s
        self.generation_key = f"{namespace}:generation"
        self._read = redis.register_script(_READ) if redis is not None else None
        self._warned_at = 0.0
        self.hits = 0
        self.misses = 0

    def _unavailable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 30:
            self._warned_at = now
            log.warning(
                "read cache %s unavailable, serving from the database: %s", self.namespace, exc
            )

    async def get_or_build(self, key: str, build: Callable[[], Awaitable[bytes]]) -> bytes:
        if self.redis is None or self._read is None:
            return await build()
        try:
            generation, value = await self._read(
                keys=[self.generation_key], args=[f"{self.namespace}:", f":{key}"]
            )
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return await build()
        if value is not None:
            self.hits += 1
            return bytes(value)
        self.misses += 1
        value = await build()
        generation = generation.decode() if isinstance(generation, bytes) else str(generation)
        try:
            await self.redis.set(f"{self.namespace}:{generation}:{key}", value, ex=self.ttl_s)
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
        return value

    async def invalidate(self) -> None:
        """Make every entry unreachable. Raises when Redis is unreachable, so an event
        consumer retries it (until then, entries still expire after ``ttl_s``)."""
        if self.redis is not None:
            await self.redis.incr(self.generation_key)
