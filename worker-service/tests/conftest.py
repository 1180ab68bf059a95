"""Fixtures shared by the worker's tests."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from folio_devstack.fakellm import running_fake_llm
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.llm.transport import AiohttpTransport

REDIS_URL = "redis://127.0.0.1:6379/0"

# The test modules import their helpers (planning_harness) from this directory.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
async def fake() -> AsyncIterator[str]:
    """A fake LLM server of this test module (a module may define its own, with settings)."""
    async with running_fake_llm() as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[AiohttpTransport]:
    transport = AiohttpTransport(timeout_s=30)
    yield transport
    await transport.aclose()


@pytest.fixture
async def documents() -> AsyncIterator[DocumentProcessor]:
    """The worker's document parser process, as planning runs it."""
    processor = DocumentProcessor(memory_limit_mb=1024, timeout_s=60)
    await processor.start()
    yield processor
    await processor.stop()


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


class VirtualTime:
    """A clock and a sleep for code with those seams: sleeps are recorded, and ``run`` wakes
    sleepers in the order their time comes (advancing the clock) once every task waits, so
    waits and their order are asserted without measuring time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._due: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._due, (self.now + max(0.0, seconds), next(self._order), woken))
        await woken

    async def run(self, *calls: Awaitable[Any]) -> list[Any]:
        tasks = [asyncio.ensure_future(c) for c in calls]
        idle = 0
        while not all(t.done() for t in tasks):
            await asyncio.sleep(0)
            running = sum(not t.done() for t in tasks)
            asleep = sum(not f.done() for _, _, f in self._due)
            if self._due and running and asleep >= running:
                due, _, woken = heapq.heappop(self._due)
                self.now = max(self.now, due)
                woken.set_result(None)
                idle = 0
            else:
                idle += 1
                assert idle < 10_000, "a task waits on something other than virtual time"
        return [t.result() for t in tasks]


@pytest.fixture
def virtual_time() -> VirtualTime:
    return VirtualTime()
