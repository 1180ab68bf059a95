"""The one Redis client a worker process shares between its response cache and its pacing:
the kit's bounded pool (``folio.cache.connect_redis``) under the worker's name, with the
2 s timeouts the worker has always used."""

from __future__ import annotations

import redis.asyncio as aioredis

from folio import cache

MAX_CONNECTIONS = 16
TIMEOUT_S = 2.0


def connect_redis(
    url: str, *, max_connections: int = MAX_CONNECTIONS, name: str = "folio-worker"
) -> aioredis.Redis:
    return cache.connect_redis(url, name=name, max_connections=max_connections, timeout_s=TIMEOUT_S)
