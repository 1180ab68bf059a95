"""The one Redis client a worker process shares between its response cache and its pacing.

A bounded, blocking pool: a burst of concurrent model calls borrows from a few long-lived
connections instead of opening one connection per call (each new connection costs a
handshake and the client's identification round trip). Short socket timeouts: Redis is an
optimisation here, and a hung Redis must not hang translations.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.driver_info import DriverInfo

MAX_CONNECTIONS = 16
TIMEOUT_S = 2.0

# Built once: the library version is read from package metadata, which is slow to parse.
_DRIVER = DriverInfo().add_upstream_driver("folio-worker", "1")


def connect_redis(
    url: str, *, max_connections: int = MAX_CONNECTIONS, name: str = "folio-worker"
) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        client_name=name,  # how an operator tells our connections apart in CLIENT LIST
        timeout=TIMEOUT_S,  # waiting for a free connection
        socket_connect_timeout=TIMEOUT_S,
        socket_timeout=TIMEOUT_S,
        driver_info=_DRIVER,
    )
    return aioredis.Redis(connection_pool=pool)
