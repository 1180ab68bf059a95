"""The shared read cache on the real Redis: hits, event-style invalidation without a stale
write-back, and reads that still work when Redis is away."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from folio.cache import ReadCache, connect_redis
from folio_devstack.stack import free_port


@pytest.fixture
async def redis(folio_infra):
    if not folio_infra.redis:
        pytest.fail("Redis is not running and could not be started")
    client = connect_redis("redis://127.0.0.1:6379/0", name="folio-kit-test")
    prefix = f"folio-test-{uuid.uuid4().hex[:8]}"
    yield client, prefix
    keys = [k async for k in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def counting_builder(values: list[bytes]):  # type: ignore[no-untyped-def]
    calls = []

    async def build() -> bytes:
        calls.append(1)
        return values[len(calls) - 1]

    return build, calls


async def test_a_hit_skips_the_build_and_invalidation_reaches_every_key(redis):
    client, prefix = redis
    cache = ReadCache(client, prefix, ttl_s=60)
    build, calls = counting_builder([b"v1", b"v2"])
    assert await cache.get_or_build("a", build) == b"v1"
    assert await cache.get_or_build("a", build) == b"v1"
    assert len(calls) == 1 and (cache.hits, cache.misses) == (1, 1)
    # Another replica's cache object shares the same entries and generation.
    other = ReadCache(client, prefix, ttl_s=60)
    assert await other.get_or_build("a", build) == b"v1"
    await other.invalidate()
    assert await cache.get_or_build("a", build) == b"v2"
    assert len(calls) == 2
    assert 0 < await client.ttl(f"{prefix}:1:a") <= 60


async def test_a_value_built_before_an_invalidation_is_never_served_after_it(redis):
    client, prefix = redis
    cache = ReadCache(client, prefix, ttl_s=60)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_old_read() -> bytes:
        started.set()
        await release.wait()  # the data changes (and is invalidated) meanwhile
        return b"old"

    pending = asyncio.create_task(cache.get_or_build("k", slow_old_read))
    await started.wait()
    await cache.invalidate()
    release.set()
    assert await pending == b"old"  # that reader gets what it read ...

    async def fresh() -> bytes:
        return b"new"

    assert await cache.get_or_build("k", fresh) == b"new"  # ... nobody after it does


async def test_without_redis_every_read_is_built_and_nothing_fails(caplog):
    unreachable = connect_redis(f"redis://127.0.0.1:{free_port()}/0", name="folio-kit-test")
    cache = ReadCache(unreachable, "folio-test-down")
    build, calls = counting_builder([b"a", b"b"])
    assert await cache.get_or_build("x", build) == b"a"
    assert await cache.get_or_build("x", build) == b"b"
    assert len(calls) == 2
    assert any("unavailable" in r.getMessage() for r in caplog.records)
    with pytest.raises(Exception):  # an invalidation must not be lost silently
        await cache.invalidate()
    await unreachable.aclose()
    build, calls = counting_builder([b"c"])
    assert await ReadCache(None, "off").get_or_build("x", build) == b"c"  # no Redis configured
