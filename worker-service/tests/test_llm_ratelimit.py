"""Requests-per-minute pacing: shared through the real Redis, per process without it."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid

import pytest
import redis.asyncio as aioredis

from folio_devstack.stack import free_port
from folio_worker.llm import (
    InProcessRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from folio_worker.redis_client import connect_redis

REDIS_URL = "redis://127.0.0.1:6379/0"
TOLERANCE_S = 0.015


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix + ":rpm"


async def acquire_times(limiters: list[RateLimiter], count: int, key: str, rpm: int) -> list[float]:
    """When each of ``count`` concurrent acquisitions returned, in order."""
    times: list[float] = []

    async def one(limiter: RateLimiter) -> None:
        await limiter.acquire(key, rpm)
        times.append(time.monotonic())

    await asyncio.gather(*(one(limiters[i % len(limiters)]) for i in range(count)))
    return sorted(times)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_two_replicas_share_one_schedule_per_key(prefix: str) -> None:
    # Two replicas: two processes, each with its own Redis client.
    clients = [connect_redis(REDIS_URL), connect_redis(REDIS_URL)]
    try:
        limiters = [RedisRateLimiter(c, prefix) for c in clients]
        times = await acquire_times(limiters, 10, "key-a", 600)  # 0.1 s apart
    finally:
        for client in clients:
            await client.aclose()
    assert len(times) == 10
    assert all(gap >= 0.1 - TOLERANCE_S for gap in gaps(times)), gaps(times)
    assert 0.9 - TOLERANCE_S <= times[-1] - times[0] < 1.5


async def test_keys_are_paced_independently(prefix: str) -> None:
    client = connect_redis(REDIS_URL)
    limiter = RedisRateLimiter(client, prefix)
    try:
        started = time.monotonic()
        await limiter.acquire("key-a", 60)  # the first slot of a key is immediate...
        await limiter.acquire("key-b", 60)  # ...and another key has its own schedule
        assert time.monotonic() - started < 0.5
    finally:
        await client.aclose()


async def test_unreachable_redis_falls_back_to_process_pacing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="folio_worker.llm.ratelimit")
    client = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    limiter = RedisRateLimiter(client, "folio-test:rpm")
    try:
        times = await acquire_times([limiter], 5, "key-a", 600)
        times += await acquire_times([limiter], 2, "key-a", 600)
    finally:
        await client.aclose()
    assert all(gap >= 0.1 - TOLERANCE_S for gap in gaps(sorted(times)))
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not per call


async def test_in_process_limiter_spaces_calls() -> None:
    limiter = InProcessRateLimiter()
    times = await acquire_times([limiter], 4, "key-a", 1200)  # 0.05 s apart
    assert all(gap >= 0.05 - TOLERANCE_S for gap in gaps(times))


async def test_a_burst_shares_a_few_redis_connections(prefix: str) -> None:
    """Many concurrent calls borrow from the bounded pool instead of opening a connection
    each (a connection per call costs a handshake each, and Redis has a connection limit)."""
    name = f"folio-test-{uuid.uuid4().hex[:10]}"
    client = connect_redis(REDIS_URL, max_connections=4, name=name)
    observer = aioredis.Redis.from_url(REDIS_URL)
    limiter = RedisRateLimiter(client, prefix)
    try:
        await asyncio.gather(*(limiter.acquire(f"key-{i}", 60_000) for i in range(50)))
        opened = [c for c in await observer.client_list() if c.get("name") == name]
    finally:
        await client.aclose()
        await observer.aclose()
    assert 1 <= len(opened) <= 4
