"""Requests-per-minute pacing: shared through the real Redis, per process without it."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
import redis.asyncio as aioredis

from folio_devstack.stack import free_port
from folio_worker.llm import (
    InProcessRateLimiter,
    Pace,
    RateLimiter,
    RedisRateLimiter,
)
from folio_worker.llm.ratelimit import Reservation
from folio_worker.redis_client import connect_redis

REDIS_URL = "redis://127.0.0.1:6379/0"
# One request a minute: each reservation's wait names its slot (0, 60, 120 s... less the
# little time the test itself took), so slots are read off the waits, never timed.
RPM = 1
SLOT_S = 60.0


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix + ":rpm"


async def slots(limiters: list[RateLimiter], count: int, key: str) -> list[int]:
    """Which slot each of ``count`` concurrent reservations got, in order."""

    async def one(limiter: RateLimiter) -> Reservation:
        return await limiter.reserve(key, Pace(RPM))

    got = await asyncio.gather(*(one(limiters[i % len(limiters)]) for i in range(count)))
    assert {r.status for r in got} == {"go"}
    return sorted(round(r.wait_s / SLOT_S) for r in got)


async def test_two_replicas_share_one_schedule_per_key(prefix: str) -> None:
    # Two replicas: two processes, each with its own Redis client.
    clients = [connect_redis(REDIS_URL), connect_redis(REDIS_URL)]
    try:
        limiters = [RedisRateLimiter(c, prefix) for c in clients]
        taken = await slots(limiters, 10, "key-a")
    finally:
        for client in clients:
            await client.aclose()
    assert taken == list(range(10))  # one schedule: every slot once, none shared


async def test_keys_are_paced_independently(prefix: str) -> None:
    client = connect_redis(REDIS_URL)
    limiter = RedisRateLimiter(client, prefix)
    try:
        # The first slot of a key is immediate, and another key has its own schedule.
        assert await limiter.reserve("key-a", Pace(RPM)) == Reservation("go", 0.0)
        assert await limiter.reserve("key-b", Pace(RPM)) == Reservation("go", 0.0)
        assert await slots([limiter], 1, "key-a") == [1]
    finally:
        await client.aclose()


async def test_acquire_waits_for_its_slot(prefix: str) -> None:
    client = connect_redis(REDIS_URL)
    limiter = RedisRateLimiter(client, prefix)
    try:
        await asyncio.wait_for(limiter.acquire("key-a", RPM), timeout=30)  # slot 0: now
        later = asyncio.ensure_future(limiter.acquire("key-a", RPM))  # slot 1: a minute on
        done, _ = await asyncio.wait([later], timeout=0.5)
        assert not done  # still waiting for its slot
        later.cancel()
    finally:
        await client.aclose()


async def test_unreachable_redis_falls_back_to_process_pacing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="folio_worker.llm.ratelimit")
    client = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    limiter = RedisRateLimiter(client, "folio-test:rpm")
    try:
        taken = await slots([limiter], 5, "key-a")
        taken += await slots([limiter], 2, "key-a")
    finally:
        await client.aclose()
    assert taken == list(range(7))  # the process keeps one schedule across calls
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not per call


async def test_in_process_limiter_spaces_calls(virtual_time) -> None:
    limiter = InProcessRateLimiter(clock=virtual_time.clock)
    got = [await limiter.reserve("key-a", Pace(1200)) for _ in range(4)]  # 0.05 s apart
    assert [r.status for r in got] == ["go"] * 4
    assert [r.wait_s for r in got] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    virtual_time.now = 0.1  # as time passes, the waits left shrink; the schedule stays
    assert (await limiter.reserve("key-a", Pace(1200))).wait_s == pytest.approx(0.1)


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
