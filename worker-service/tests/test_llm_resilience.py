"""Retries, key rotation, timeouts, pacing, concurrency caps and accounting, over real HTTP.

The module runs its own fake LLM server and resets it before every test, because ``*N``
fault markers and the ``max_in_flight`` statistic are server-wide state.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from folio.contracts.providers import ProviderConfig, key_id
from folio_devstack.stack import free_port
from folio_worker.llm import (
    CallUsage,
    InProcessRateLimiter,
    LLMAuthError,
    LLMClient,
    LLMError,
    LLMExhausted,
    LLMRequest,
)
from folio_worker.llm.transport import AiohttpTransport

SOURCE = "Gregor Samsa woke in Prague. Gregor looked at Grete, and Grete smiled."


class Names(BaseModel):
    names: list[str]
    summary: str


@pytest.fixture(params=["httpx", "aiohttp"])
async def http(fake: str, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """A client (plain httpx, or the worker's production transport), with the fake idle
    (timed-out requests finish server-side) and reset."""
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            if (await client.get(fake + "/_fake/stats")).json()["in_flight"] == 0:
                break
            await asyncio.sleep(0.05)
        (await client.post(fake + "/_fake/reset")).raise_for_status()
        if request.param == "httpx":
            yield client
            return
    transport = AiohttpTransport(timeout_s=30)
    yield transport  # type: ignore[misc]
    await transport.aclose()


@pytest.fixture
def tag() -> str:
    """Marks this test's prompts: requests of earlier tests may still finish after a reset."""
    return f"test-{uuid.uuid4().hex[:10]}"


async def sent(http: httpx.AsyncClient, url: str, tag: str) -> list[dict[str, Any]]:
    return [r for r in (await http.get(url + "/_fake/requests")).json() if tag in r["prompt"]]


def secret(prefix: str = "key") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def config(kind: str, url: str, *keys: str, **overrides: Any) -> ProviderConfig:
    values: dict[str, Any] = {
        "openai": {"model": "gpt-4o-mini", "base_url": url + "/v1"},
        "gemini": {"model": "gemini-2.5-flash", "base_url": url},
    }[kind]
    return ProviderConfig(provider=kind, api_keys=keys or (secret(),), **{**values, **overrides})


def client_for(cfg: ProviderConfig, http: httpx.AsyncClient, **kwargs: Any) -> LLMClient:
    kwargs.setdefault("backoff_base_s", 0.01)
    kwargs.setdefault("backoff_cap_s", 0.05)
    return LLMClient(cfg, http, limiter=InProcessRateLimiter(), **kwargs)


def prompt(tag: str, marker: str = "") -> str:
    return f"Translate ({tag}). {marker}\n<source>{SOURCE}</source>"


KINDS = pytest.mark.parametrize("kind", ["openai", "gemini"])


@KINDS
async def test_malformed_json_is_retried_then_valid(
    kind: str, tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(config(kind, fake), http, on_call=calls.append)
    response = await client.generate(
        LLMRequest(prompt(tag, "[[fake:malformed-json*1]]"), schema=Names)
    )
    assert isinstance(response.parsed, Names) and "Gregor" in response.parsed.names
    assert [c.outcome for c in calls] == ["invalid_json", "ok"]
    assert calls[0].output_tokens > 0  # the wasted attempt is still accounted
    assert [r["outcome"] for r in await sent(http, fake, tag)] == ["malformed-json", "ok"]


@KINDS
async def test_429_retry_after_is_honoured(
    kind: str, tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(config(kind, fake), http, on_call=calls.append)
    response = await client.generate(LLMRequest(prompt(tag, "[[fake:429:retry=1*2]]")))
    assert response.text
    log = await sent(http, fake, tag)
    assert [r["outcome"] for r in log] == ["429", "429", "ok"]
    arrivals = [r["at"] for r in log]
    # each retry waited at least the server-given Retry-After (1 s), on the server's clock
    assert arrivals[1] - arrivals[0] >= 0.99 and arrivals[2] - arrivals[1] >= 0.99
    assert [c.outcome for c in calls] == ["429", "429", "ok"]


@KINDS
async def test_rate_limited_key_rotates_to_the_next_without_waiting(
    kind: str, tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    throttled, good = secret("ratelimited"), secret("good")
    client = client_for(config(kind, fake, throttled, good), http)
    first = await client.generate(LLMRequest(prompt(tag)))
    second = await client.generate(LLMRequest(prompt(tag)))
    assert first.usage.key_id == second.usage.key_id == key_id(good)
    log = await sent(http, fake, tag)
    assert [(r["key_hash"], r["outcome"]) for r in log] == [
        (key_id(throttled), "429"),
        (key_id(good), "ok"),
        (key_id(good), "ok"),  # the throttled key rests; the next call skips it
    ]
    assert log[1]["at"] - log[0]["at"] < 0.5  # did not wait for the 1 s Retry-After


@KINDS
async def test_refused_key_is_disabled_for_good(
    kind: str, tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    refused, good = secret("invalid"), secret("good")
    calls: list[CallUsage] = []
    client = client_for(config(kind, fake, refused, good), http, on_call=calls.append)
    for _ in range(4):
        assert (await client.generate(LLMRequest(prompt(tag)))).usage.key_id == key_id(good)
    hashes = [r["key_hash"] for r in await sent(http, fake, tag)]
    assert hashes == [key_id(refused)] + [key_id(good)] * 4
    assert [c.outcome for c in calls] == ["auth", "ok", "ok", "ok", "ok"]


@KINDS
async def test_all_keys_refused_is_an_auth_error(
    kind: str, tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    keys = (secret("invalid"), secret("invalid"), secret("invalid"))
    client = client_for(config(kind, fake, *keys), http)
    with pytest.raises(LLMAuthError) as caught:
        await client.generate(LLMRequest(prompt(tag)))
    # OpenAI answers a wrong key 401 invalid_api_key; Gemini 400 INVALID_ARGUMENT
    label, detail = (
        ("OpenAI-compatible API", "the key was refused (401 unauthorized)")
        if kind == "openai"
        else ("Gemini API", "the key is not valid (400 API_KEY_INVALID)")
    )
    assert caught.value.reason == f"{label} refused every key: {detail}"
    assert sorted(r["key_hash"] for r in await sent(http, fake, tag)) == sorted(map(key_id, keys))
    with pytest.raises(LLMAuthError):  # the pool remembers: no more requests
        await client.generate(LLMRequest(prompt(tag)))
    assert len(await sent(http, fake, tag)) == 3


@KINDS
async def test_persistent_server_errors_exhaust_the_attempts(
    kind: str, tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(config(kind, fake), http, max_attempts=4, on_call=calls.append)
    with pytest.raises(LLMExhausted) as caught:
        await client.generate(LLMRequest(prompt(tag, "[[fake:500]]")))
    assert caught.value.reason == "the model kept failing (server error 500) after 4 attempts"
    assert caught.value.attempts == 4 and caught.value.last_outcome == "5xx"
    assert len(await sent(http, fake, tag)) == 4
    assert [c.outcome for c in calls] == ["5xx"] * 4


async def test_slow_answers_time_out_and_are_retried(
    tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(
        config("gemini", fake), http, timeout_s=0.5, max_attempts=2, on_call=calls.append
    )
    with pytest.raises(LLMExhausted, match="timeout") as caught:
        await client.generate(LLMRequest(prompt(tag, "[[fake:slow=3]]")))
    assert "after 2 attempts" in caught.value.reason
    assert [c.outcome for c in calls] == ["timeout", "timeout"]
    assert all(400 <= c.latency_ms < 1500 for c in calls)


async def test_a_slow_first_answer_then_success(
    tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(config("openai", fake), http, timeout_s=0.5, on_call=calls.append)
    response = await client.generate(LLMRequest(prompt(tag, "[[fake:slow=3*1]]")))
    assert response.text and [c.outcome for c in calls] == ["timeout", "ok"]


async def test_unreachable_server_is_a_transport_failure(tag: str, http: httpx.AsyncClient) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    calls: list[CallUsage] = []
    client = client_for(config("openai", closed), http, max_attempts=2, on_call=calls.append)
    with pytest.raises(LLMExhausted, match="connection error"):
        await client.generate(LLMRequest(prompt(tag)))
    assert [c.outcome for c in calls] == ["transport", "transport"]


async def test_on_call_gets_one_record_per_attempt(
    tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    calls: list[CallUsage] = []
    client = client_for(config("openai", fake), http, on_call=calls.append)
    response = await client.generate(LLMRequest(prompt(tag, "[[fake:500*1]] [[fake:503*1]]")))
    log = await sent(http, fake, tag)
    assert [r["outcome"] for r in log] == ["500", "ok"]
    assert [c.outcome for c in calls] == ["5xx", "ok"]
    assert calls[-1] == response.usage
    assert (calls[-1].input_tokens, calls[-1].output_tokens) == (
        log[-1]["prompt_tokens"],
        log[-1]["completion_tokens"],
    )
    assert calls[0].input_tokens == 0  # an error reports no tokens


async def test_a_failing_callback_never_breaks_the_call(
    tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    def broken(usage: CallUsage) -> None:
        raise RuntimeError("metrics backend down")

    client = client_for(config("gemini", fake), http, on_call=broken)
    assert (await client.generate(LLMRequest(prompt(tag)))).text


async def test_concurrency_per_key_is_capped_across_clients(
    tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    cfg = config("openai", fake)
    first = client_for(cfg, http, max_concurrency_per_key=3)
    second = client_for(cfg, http, max_concurrency_per_key=3)
    request = LLMRequest(prompt(tag, "[[fake:slow=0.2]]"))
    calls = [client.generate(request) for client in (first, second) for _ in range(6)]
    results = await asyncio.gather(*calls)
    assert len(results) == 12
    stats = (await http.get(fake + "/_fake/stats")).json()
    assert stats["max_in_flight"] == 3

    # Another key has its own cap.
    (await http.post(fake + "/_fake/reset")).raise_for_status()
    wide = client_for(config("openai", fake), http, max_concurrency_per_key=8)
    await asyncio.gather(*(wide.generate(request) for _ in range(8)))
    assert (await http.get(fake + "/_fake/stats")).json()["max_in_flight"] == 8


async def test_requests_per_minute_paces_each_key(
    tag: str, http: httpx.AsyncClient, fake: str
) -> None:
    client = client_for(config("gemini", fake, requests_per_minute=300), http)  # 0.2 s apart
    await asyncio.gather(*(client.generate(LLMRequest(prompt(tag))) for _ in range(4)))
    arrivals = sorted(r["at"] for r in await sent(http, fake, tag))
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # The client sends on a 0.2 s schedule; arrivals at the fake also carry loopback and
    # scheduling jitter (tens of ms on a loaded machine), so each gap gets a margin while
    # the whole span still proves three paced intervals.
    assert len(gaps) == 3 and all(gap >= 0.12 for gap in gaps)
    assert arrivals[-1] - arrivals[0] >= 0.5


async def test_no_key_ever_appears_in_logs_or_errors(
    tag: str, http: httpx.AsyncClient, fake: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    keys = (secret("invalid"), secret("ratelimited"), "sk-" + uuid.uuid4().hex)
    errors: list[LLMError] = []
    for kind in ("openai", "gemini"):
        client = client_for(config(kind, fake, *keys), http, max_attempts=3)
        await client.generate(LLMRequest(prompt(tag, "[[fake:500*1]]")))
        assert all(k not in repr(client) for k in keys)
        with pytest.raises(LLMExhausted) as exhausted:
            await client.generate(LLMRequest(prompt(tag, "[[fake:503]]")))
        errors.append(exhausted.value)
        refused = client_for(config(kind, fake, keys[0]), http)
        with pytest.raises(LLMAuthError) as auth:
            await refused.generate(LLMRequest(prompt(tag)))
        errors.append(auth.value)
    assert "refused" in caplog.text and key_id(keys[0]) in caplog.text  # logs say which key
    for key in keys:
        assert key not in caplog.text
        for error in errors:
            assert key not in str(error) and key not in repr(error) and key not in error.reason


async def test_a_batch_look_up_serves_known_answers_without_calls(
    fake: str, http: httpx.AsyncClient, tag: str
) -> None:
    """A segment's units are looked up in the shared cache in one round trip; the ones a
    crashed worker already translated cost no call, the others are sent."""
    from folio_worker.engine.calls import ModelCaller, RedisCache
    from folio_worker.redis_client import connect_redis

    redis = connect_redis("redis://127.0.0.1:6379/0")
    cache = RedisCache(redis, prefix=f"folio-test-{tag}:llm-cache")
    try:
        client = client_for(config("openai", fake), http)
        done, todo = prompt(tag, "done"), prompt(tag, "todo")
        earlier = await ModelCaller(client, cache).text(done)
        await ModelCaller(client, cache).remember(done, earlier.text)

        caller = ModelCaller(client, cache)
        await caller.look_up([done, todo])
        served, answered = await caller.text(done), await caller.text(todo)
        assert served.cached and served.text == earlier.text
        assert not answered.cached and answered.text
        assert [r["prompt"] for r in await sent(http, fake, tag)] == [done, todo]
    finally:
        keys = [k async for k in redis.scan_iter(f"folio-test-{tag}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_cached_answers_are_not_shared_between_providers(
    fake: str, http: httpx.AsyncClient, tag: str
) -> None:
    """The same model name served elsewhere (another base URL) may answer differently."""
    from folio_worker.engine.calls import MemoryCache, ModelCaller

    cache = MemoryCache()
    here = client_for(config("openai", fake, model="shared-name"), http)
    elsewhere = client_for(
        config("openai", fake, model="shared-name", base_url=fake + "/api/v1"), http
    )
    question = prompt(tag)
    first = await ModelCaller(here, cache).text(question)
    await ModelCaller(here, cache).remember(question, first.text)
    assert (await ModelCaller(here, cache).text(question)).cached
    assert not (await ModelCaller(elsewhere, cache).text(question)).cached
