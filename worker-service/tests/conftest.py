"""Fixtures shared by the worker's tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this test only; its keys are deleted afterwards."""
    value = f"folio-test-{uuid.uuid4().hex[:10]}"
    yield value
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=value + ":*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
