"""Cancelled jobs in the worker: queued work dropped, work in flight ended, on every
replica (through Redis); and model calls that may not reach the addresses they resolve to."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import pytest
from aiohttp.abc import AbstractResolver

from folio.egress import EgressPolicy
from folio_worker.control import JobControl, WorkCancelled
from folio_worker.llm.errors import LLMBadRequest
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis


async def test_cancelling_ends_the_jobs_work_in_flight_and_only_that() -> None:
    control = JobControl()
    started = asyncio.Event()

    async def work(job_id: int) -> str:
        async with control.running(job_id):
            started.set()
            await asyncio.sleep(60)  # a model call that would take a minute
        return "done"

    doomed = asyncio.create_task(work(1))
    other = asyncio.create_task(work(2))
    await started.wait()
    await asyncio.sleep(0)
    await control.cancel(1)
    with pytest.raises(WorkCancelled):
        await asyncio.wait_for(doomed, timeout=5)
    assert not other.done() and await control.is_cancelled(1)
    assert not await control.is_cancelled(2)
    other.cancel()  # a shutdown's cancellation stays a cancellation
    with pytest.raises(asyncio.CancelledError):
        await other


async def test_another_replica_learns_of_the_cancellation_through_redis(folio_infra) -> None:
    assert folio_infra.redis, "the worker's cross-replica state needs Redis (folio-dev infra)"
    prefix = f"folio-test-{uuid.uuid4().hex[:8]}"
    redis = connect_redis("redis://127.0.0.1:6379/0")
    here = JobControl(redis, prefix=prefix, poll_s=0.1)
    there = JobControl(redis, prefix=prefix, poll_s=0.1)  # another replica
    await there.start()
    try:

        async def work() -> None:
            async with there.running(7):
                await asyncio.sleep(60)

        task = asyncio.create_task(work())
        await asyncio.sleep(0.05)
        await here.cancel(7)  # the replica that consumed JobCancelled
        with pytest.raises(WorkCancelled):
            await asyncio.wait_for(task, timeout=5)
        assert await JobControl(redis, prefix=prefix).is_cancelled(7)  # a new replica too
    finally:
        await there.stop()
        await redis.delete(f"{prefix}:cancelled:7")
        await redis.aclose()


class _Resolves(AbstractResolver):
    """Answers every name with one address (what DNS says at connect time)."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(self, host, port=0, family=socket.AF_INET):  # type: ignore[no-untyped-def]
        return [
            {
                "hostname": host,
                "host": self.address,
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254"])
async def test_a_model_call_to_an_internal_address_is_refused_at_connect(address: str) -> None:
    policy = EgressPolicy.for_environment("production")
    transport = AiohttpTransport(egress=policy, resolver=_Resolves(address))
    try:
        with pytest.raises(LLMBadRequest, match="not allowed"):
            await transport.post("https://llm.example.com/v1/chat/completions", json={})
        with pytest.raises(LLMBadRequest, match="not allowed"):
            await transport.post(f"http://{address}/v1/chat/completions", json={})
    finally:
        await transport.aclose()


async def test_development_still_reaches_a_local_server(fake_llm_url: str) -> None:
    transport = AiohttpTransport(egress=EgressPolicy.for_environment("development"))
    try:
        response = await transport.get(fake_llm_url + "/v1/models")
        assert response.status_code == 200
        with pytest.raises(LLMBadRequest):
            await transport.get("http://169.254.169.254/latest/meta-data/")
    finally:
        await transport.aclose()
    assert isinstance(response, httpx.Response)
