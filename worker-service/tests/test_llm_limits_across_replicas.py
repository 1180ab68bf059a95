"""Limits shared by every worker replica: two processes, one key, one Redis, the fake
counting what reaches it (and answering 429 past the key's concurrency, as a provider
would)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from folio_devstack.fakellm import running_fake_llm
from folio_worker.llm import (
    InProcessRateLimiter,
    LLMClient,
    LLMDeferred,
    LLMRequest,
    Pace,
    RedisConcurrency,
    RedisRateLimiter,
)
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.redis_client import connect_redis

REDIS_URL = "redis://127.0.0.1:6379/0"
REPLICA = Path(__file__).with_name("replica_calls.py")
LATE_S = 0.15


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


async def two_replicas(
    fake: str,
    prefix: str,
    config: dict[str, Any],
    calls: int,
    *replicas: dict[str, Any],
) -> str:
    """Run two replica processes that start together (``replicas``: what each does
    differently, e.g. its own ``prompt`` tail or ``start_in`` seconds later); returns the
    prompt tag."""
    tag = f"run-{uuid.uuid4().hex[:10]}"
    loop = asyncio.get_running_loop()
    start_at = loop.time() + 1.5  # both processes are up by then
    base = {
        "redis_url": REDIS_URL,
        "prefix": prefix,
        "config": {"base_url": fake + "/v1", **config},
        "calls": calls,
        "prompt": f"Translate ({tag}) <source>Gregor woke.</source>",
    }
    specs = []
    for own in replicas or ({}, {}):
        spec = {**base, **own, "start_at": start_at + own.get("start_in", 0.0)}
        spec["prompt"] = base["prompt"] + own.get("prompt", "")
        specs.append(spec)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(REPLICA),
            json.dumps(spec),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for spec in specs
    ]
    for process, spec in zip(processes, specs, strict=True):
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, err.decode()[-2000:]
        assert json.loads(out.decode().strip().splitlines()[-1]) == {"answers": spec["calls"]}
    return tag


async def logged(fake: str, tag: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as http:
        return [r for r in (await http.get(fake + "/_fake/requests")).json() if tag in r["prompt"]]


async def test_two_workers_never_exceed_the_keys_concurrency(prefix: str) -> None:
    async with running_fake_llm(
        FAKE_LLM_CONCURRENCY_LIMIT="3", FAKE_LLM_LATENCY_BASE_MS="250"
    ) as fake:
        config = {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "api_keys": [f"key-{uuid.uuid4().hex}"],
            "max_concurrency": 3,
        }
        tag = await two_replicas(fake, prefix, config, calls=8)
        async with httpx.AsyncClient() as http:
            stats = (await http.get(fake + "/_fake/stats")).json()
        outcomes = [r["outcome"] for r in await logged(fake, tag)]
    assert outcomes == ["ok"] * 16  # not one 429: the provider never saw a fourth call
    assert stats["max_in_flight"] == 3  # and the cap was used, not just respected


async def test_two_workers_share_one_request_schedule(prefix: str) -> None:
    async with running_fake_llm() as fake:
        config = {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "api_keys": [f"key-{uuid.uuid4().hex}"],
            "requests_per_minute": 240,  # one call every 0.25 s for the key, deployment-wide
        }
        tag = await two_replicas(fake, prefix, config, calls=5)
        arrivals = sorted(r["at"] for r in await logged(fake, tag))
    assert len(arrivals) == 10
    # Slots are reserved 0.25 s apart on Redis's clock; a send may start a little late
    # (process scheduling), never early. So k calls later is at least k slots later, less
    # one send's lateness: no window can hold more calls than the rate allows, plus one.
    for i, j in itertools.combinations(range(10), 2):
        assert arrivals[j] - arrivals[i] >= (j - i) * 0.25 - LATE_S, (i, j, arrivals)


async def test_two_workers_pace_tokens_per_minute_by_what_the_provider_reported(
    prefix: str,
) -> None:
    """One replica's calls, then (once it is done) the other's, each one after another:
    every call is reserved after the one before was answered. A reasoning model bills far
    more than the prompt and the small output limit the client reserves for, so each call
    must wait for what the one before really used (settled on the shared schedule, also
    across the replicas), not for what was reserved for it."""
    rate = 40.0  # tokens a second
    async with running_fake_llm() as fake:
        config = {
            "provider": "openai",
            "model": "o3-mini",  # its hidden reasoning is billed in completion_tokens
            "api_keys": [f"key-{uuid.uuid4().hex}"],
            "tokens_per_minute": round(rate * 60),
        }
        handover = f"{prefix}:handover"
        first = {"prompt": " first", "sequential": True, "done": handover}
        second = {"prompt": " second", "sequential": True, "after": handover}
        limited = {"max_output_tokens": 8}
        tag = await two_replicas(
            fake, prefix, config, 3, {**first, **limited}, {**second, **limited}
        )
        rows = sorted(await logged(fake, tag), key=lambda r: r["at"])
    assert [r["outcome"] for r in rows] == ["ok"] * 6
    assert ["first" in r["prompt"] for r in rows] == [True] * 3 + [False] * 3
    for before, after in itertools.pairwise(rows):
        billed = before["prompt_tokens"] + before["completion_tokens"] + before["thought_tokens"]
        assert before["thought_tokens"] > before["prompt_tokens"]  # billed ≫ reserved
        assert after["at"] - before["at"] >= billed / rate - LATE_S, (before, after)


async def test_waiters_after_a_shared_cool_down_are_released_over_a_spread(
    prefix: str,
) -> None:
    """One replica's call is answered 429 (Retry-After 2 s); the other replica's calls,
    sent once that 429 was answered, learn of the rest from Redis, wait it out, and go
    again spread out (not in one burst that would earn the next 429)."""
    key = f"key-{uuid.uuid4().hex}"
    config = {"provider": "openai", "model": "gpt-4o-mini", "api_keys": [key]}
    refused_seen = f"{prefix}:refused"

    hashed = hashlib.sha256(key.encode()).hexdigest()[:12]  # how the fake names keys

    async def hand_over_after_the_429(fake: str) -> None:
        async with httpx.AsyncClient() as http:
            while True:
                rows = (await http.get(fake + "/_fake/requests")).json()
                if any(r["outcome"] == "429" and r["key_hash"] == hashed for r in rows):
                    redis = connect_redis(REDIS_URL)
                    await redis.rpush(refused_seen, "seen")
                    await redis.aclose()
                    return
                await asyncio.sleep(0.01)

    async with running_fake_llm() as fake:
        watcher = asyncio.create_task(hand_over_after_the_429(fake))
        throttled = {"prompt": " [[fake:429:retry=2*1]]", "calls": 1}
        waiting = {"prompt": " waiting", "calls": 10, "after": refused_seen}
        tag = await two_replicas(fake, prefix, config, 1, throttled, waiting)
        await watcher
        rows = sorted(await logged(fake, tag), key=lambda r: r["at"])
    refused = rows[0]
    assert refused["outcome"] == "429" and "fake:429" in refused["prompt"]
    assert [r["outcome"] for r in rows[1:]] == ["ok"] * 11
    # nobody, in either replica, sent during the rest
    assert all(r["at"] >= refused["at"] + 2.0 - LATE_S for r in rows[1:])
    released = [r["at"] for r in rows if "waiting" in r["prompt"]]
    assert len(released) == 10
    # over a spread of about half the rest that was left (~1 s): not all at once
    assert max(released) - min(released) >= 0.25, released


async def test_tokens_per_minute_paces_by_cost_and_settles_on_usage(prefix: str) -> None:
    client = connect_redis(REDIS_URL)
    limiter = RedisRateLimiter(client, prefix + ":rpm")
    pace = Pace(tokens_per_minute=60_000)  # 1000 tokens a second
    try:
        first = await limiter.reserve("key", pace, cost_tokens=500)
        second = await limiter.reserve("key", pace, cost_tokens=500)
        assert first.status == second.status == "go"
        assert first.wait_s == 0.0 and 0.45 <= second.wait_s <= 0.5
        # the first call used 1500 tokens, not 500: the schedule moves a second further
        await limiter.settle("key", pace, extra_tokens=1000)
        third = await limiter.reserve("key", pace, cost_tokens=100)
        assert 1.9 <= third.wait_s <= 2.0
        # a slot beyond the wait the caller accepts is not reserved at all
        later = await limiter.reserve("key", pace, cost_tokens=100, max_wait_s=0.5)
        assert later.status == "later" and later.wait_s >= 2.0
        after = await limiter.reserve("key", pace, cost_tokens=100)
        assert after.wait_s == pytest.approx(third.wait_s + 0.1, abs=0.05)
    finally:
        await client.aclose()


async def test_a_429_cools_the_key_down_for_every_replica(prefix: str) -> None:
    clients = [connect_redis(REDIS_URL), connect_redis(REDIS_URL)]
    limiters = [RedisRateLimiter(c, prefix + ":rpm") for c in clients]
    try:
        await limiters[0].cool_down("key", 2.0)
        other = await limiters[1].reserve("key", Pace())
        assert other.status == "cooling" and 1.8 <= other.wait_s <= 2.0
        assert (await limiters[1].reserve("another-key", Pace())).status == "go"
    finally:
        for c in clients:
            await c.aclose()


async def test_retry_after_beyond_the_wait_limit_defers_instead_of_holding(
    fake_llm_url: str,
) -> None:
    from folio.contracts.providers import ProviderConfig

    http = AiohttpTransport(timeout_s=30)
    cfg = ProviderConfig(
        provider="openai",
        model="gpt-4o-mini",
        base_url=fake_llm_url + "/v1",
        api_keys=(f"key-{uuid.uuid4().hex}",),
    )
    client = LLMClient(
        cfg,
        http,
        limiter=InProcessRateLimiter(),
        max_wait_s=5.0,  # type: ignore[arg-type]
    )
    tag = uuid.uuid4().hex
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(LLMDeferred) as caught:
            await client.generate(LLMRequest(f"({tag}) [[fake:429:retry=600]] <source>x</source>"))
    finally:
        await http.aclose()
    assert 599 <= caught.value.retry_after_s <= 600
    assert asyncio.get_running_loop().time() - started < 5  # nothing waited for it


async def test_a_crashed_holders_slot_comes_back(prefix: str) -> None:
    """A lease not renewed (its process died) lapses; nobody waits for it forever."""
    import folio_worker.llm.concurrency as concurrency

    client = connect_redis(REDIS_URL)
    slots = RedisConcurrency(client, prefix + ":slots")
    try:
        # a dead replica's lease, lapsing in 0.3 s on Redis's clock
        script = client.register_script(
            "local t = redis.call('TIME') "
            "local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
            "redis.call('ZADD', KEYS[1], now + 300000, 'dead')"
        )
        await script(keys=[f"{prefix}:slots:key"])
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with slots.slot("key", 1):
            waited = loop.time() - started
        assert 0.25 <= waited < 0.3 + concurrency._POLL_MAX_S + 0.1
    finally:
        await client.aclose()
