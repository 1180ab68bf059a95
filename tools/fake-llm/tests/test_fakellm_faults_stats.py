"""Fault counting, configured fault rates, latency overlap, stats and the request log."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from folio_fakellm import core
from folio_fakellm.faults import ConfiguredFaults, Fault, MarkerCounter, parse_configured
from folio_fakellm.stats import key_hash

AUTH = {"Authorization": "Bearer sk-secret-abc"}
MakeClient = Callable[..., httpx.AsyncClient]


def body(text: str) -> dict[str, object]:
    return {"model": "fake-model", "messages": [{"role": "user", "content": text}]}


def test_marker_counter_counts_exact_marker_strings() -> None:
    counter = MarkerCounter()
    text = "a [[fake:500*2]] b [[fake:echo]] [[fake:nonsense]]"
    assert [f.kind for f in counter.active_faults(text)] == ["500", "echo"]
    assert [f.kind for f in counter.active_faults(text)] == ["500", "echo"]
    assert [f.kind for f in counter.active_faults(text)] == ["echo"]
    # a different count is a different marker string with its own counter
    assert [f.kind for f in counter.active_faults("[[fake:500*3]]")] == ["500"]
    counter.reset()
    assert [f.kind for f in counter.active_faults("[[fake:500*2]]")] == ["500"]


def test_configured_faults_parse_and_repeat() -> None:
    assert parse_configured("429:0.1, slow=0.5:0.2,block-candidate:0") == [
        (Fault("429"), 0.1),
        (Fault("slow", seconds=0.5), 0.2),
        (Fault("block-candidate"), 0.0),
    ]
    with pytest.raises(ValueError):
        parse_configured("teapot:0.5")
    a = ConfiguredFaults("500:0.3", seed=7)
    b = ConfiguredFaults("500:0.3", seed=7)
    draws_a = [bool(a.draw()) for _ in range(200)]
    assert draws_a == [bool(b.draw()) for _ in range(200)]
    assert 30 <= sum(draws_a) <= 90


async def test_configured_fault_rate_via_http(make_client: MakeClient) -> None:
    client = make_client(faults="503:0.5", seed=3)
    codes = [
        (await client.post("/v1/chat/completions", headers=AUTH, json=body("hi"))).status_code
        for _ in range(60)
    ]
    assert set(codes) == {200, 503}
    await client.post("/_fake/reset")
    again = [
        (await client.post("/v1/chat/completions", headers=AUTH, json=body("hi"))).status_code
        for _ in range(60)
    ]
    assert again == codes  # reset re-seeds: same sequence


async def test_counted_marker_under_concurrency(client: httpx.AsyncClient) -> None:
    async def one() -> int:
        r = await client.post("/v1/chat/completions", headers=AUTH, json=body("x [[fake:429*5]]"))
        return r.status_code

    codes = await asyncio.gather(*(one() for _ in range(40)))
    assert codes.count(429) == 5 and codes.count(200) == 35


class RecordedSleeps:
    """Stands in for the fake's non-blocking sleep: records each delay and holds the
    sleeper until the test lets it go, so overlap and delays are seen, not timed."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.release = asyncio.Event()
        self._slept = asyncio.Condition()

    async def __call__(self, seconds: float) -> None:
        if seconds > 0:
            async with self._slept:
                self.delays.append(seconds)
                self._slept.notify_all()
            await self.release.wait()

    async def until_sleeping(self, count: int) -> None:
        async with self._slept:
            await self._slept.wait_for(lambda: len(self.delays) >= count)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> RecordedSleeps:
    recorded = RecordedSleeps()
    monkeypatch.setattr(core, "sleep_for", recorded)
    return recorded


async def test_latency_requests_overlap(make_client: MakeClient, sleeps: RecordedSleeps) -> None:
    client = make_client(latency_base_ms=200)

    async def one(i: int) -> int:
        r = await client.post("/v1/chat/completions", headers=AUTH, json=body(f"hello {i}"))
        return r.status_code

    calls = asyncio.gather(*(one(i) for i in range(200)))
    # Every request is inside its modelled latency at once: none waits for another.
    await asyncio.wait_for(sleeps.until_sleeping(200), timeout=30)
    assert sleeps.delays == [0.2] * 200
    assert (await client.get("/_fake/stats")).json()["in_flight"] == 200
    sleeps.release.set()
    assert await calls == [200] * 200
    stats = (await client.get("/_fake/stats")).json()
    assert stats["max_in_flight"] == 200
    assert stats["in_flight"] == 0
    log = (await client.get("/_fake/requests")).json()
    assert [e["seq"] for e in log] == list(range(1, 201))  # arrival order


async def test_slow_marker_delays(client: httpx.AsyncClient, sleeps: RecordedSleeps) -> None:
    call = asyncio.ensure_future(
        client.post("/v1/chat/completions", headers=AUTH, json=body("a [[fake:slow=0.3]]"))
    )
    await asyncio.wait_for(sleeps.until_sleeping(1), timeout=30)
    assert sleeps.delays == [0.3]  # the marker's delay, before any answer is written
    assert not call.done()
    sleeps.release.set()
    assert (await call).status_code == 200
    # Latency is modelled separately (zero here): the slow marker was the only wait.
    assert sleeps.delays == [0.3]


async def test_stats_log_and_reset(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.post("/v1/chat/completions", headers=AUTH, json=body(f"<source>n{i}</source>"))
    await client.post("/v1/chat/completions", json=body("no key"))
    stats = (await client.get("/_fake/stats")).json()
    assert stats["requests"] == 4
    assert stats["by_endpoint"] == {"openai.chat": 4}
    assert stats["by_outcome"] == {"ok": 3, "401": 1}
    log = (await client.get("/_fake/requests")).json()
    assert [e["seq"] for e in log] == [1, 2, 3, 4]
    assert stats["prompt_tokens"] == sum(e["prompt_tokens"] for e in log)
    assert stats["completion_tokens"] == sum(e["completion_tokens"] for e in log)
    first = log[0]
    assert first["prompt"] == "<source>n0</source>"
    assert first["key_hash"] == key_hash("sk-secret-abc") and len(first["key_hash"]) == 12
    assert first["outcome"] == "ok" and first["output"]
    assert "sk-secret-abc" not in str(log) and "sk-secret-abc" not in str(stats)
    page = (await client.get("/_fake/requests", params={"offset": 1, "limit": 2})).json()
    assert [e["seq"] for e in page] == [2, 3]
    assert (await client.post("/_fake/reset")).status_code == 200
    stats = (await client.get("/_fake/stats")).json()
    assert stats["requests"] == 0 and stats["max_in_flight"] == 0
    assert (await client.get("/_fake/requests")).json() == []


async def test_log_is_bounded(make_client: MakeClient) -> None:
    client = make_client(max_logged_requests=3)
    for i in range(5):
        await client.post("/v1/chat/completions", headers=AUTH, json=body(str(i)))
    log = (await client.get("/_fake/requests")).json()
    assert [e["seq"] for e in log] == [3, 4, 5]
    assert (await client.get("/_fake/stats")).json()["requests"] == 5


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_internal_failure_is_protocol_shaped(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(app.state.engine, "answer_text", boom)
    r = await client.post(
        "/v1beta/models/m:generateContent",
        params={"key": "k"},
        json={"contents": [{"parts": [{"text": "hi"}]}]},
    )
    assert r.status_code == 500
    assert r.json()["error"]["status"] == "INTERNAL"
    assert (await client.get("/_fake/stats")).json()["by_outcome"] == {"crash": 1}


async def test_source_faults_hit_only_the_passage_until_removed(make_client: MakeClient) -> None:
    client = make_client()
    added = await client.post(
        "/_fake/faults", json={"source_contains": "doomed passage", "fault": "echo"}
    )
    assert added.status_code == 200
    doomed = "Context quoting the doomed passage.\n<source>The doomed passage.</source>"
    neighbour = "Context: The doomed passage.\n<source>A calm neighbour.</source>"

    async def answer(text: str) -> str:
        response = await client.post("/v1/chat/completions", headers=AUTH, json=body(text))
        return response.json()["choices"][0]["message"]["content"]

    assert await answer(doomed) == "The doomed passage."  # echoed, every time
    assert await answer(doomed) == "The doomed passage."
    assert await answer(neighbour) != "A calm neighbour."  # context alone does not trigger it
    assert (await client.delete("/_fake/faults")).status_code == 200
    assert await answer(doomed) != "The doomed passage."
    refused = await client.post("/_fake/faults", json={"source_contains": "x", "fault": "teapot"})
    assert refused.status_code == 422


async def test_the_log_names_each_call_by_the_clients_request_id(client: httpx.AsyncClient) -> None:
    headers = {"anthropic-version": "2023-06-01", "x-api-key": "sk-secret-abc"}
    await client.post(
        "/v1/chat/completions",
        headers={**AUTH, "X-Client-Request-Id": "folio-call-1"},
        json=body("<source>a</source>"),
    )
    await client.post(
        "/v1/messages",
        headers={**headers, "X-Client-Request-Id": "folio-call-2"},
        json={"model": "claude-x", "max_tokens": 64, "messages": body("b")["messages"]},
    )
    await client.post("/v1/chat/completions", headers=AUTH, json=body("<source>c</source>"))
    log = (await client.get("/_fake/requests")).json()
    assert [e["client_request_id"] for e in log] == ["folio-call-1", "folio-call-2", None]


async def test_a_rambling_answer_goes_on_until_the_output_limit(client: httpx.AsyncClient) -> None:
    plain = await client.post(
        "/v1/chat/completions", headers=AUTH, json=body("<source>Gregor woke.</source>")
    )
    rambling = await client.post(
        "/v1/chat/completions",
        headers=AUTH,
        json=body("<source>Gregor woke. [[fake:ramble]]</source>"),
    )
    limited = await client.post(
        "/v1/chat/completions",
        headers=AUTH,
        json={**body("<source>Gregor woke. [[fake:ramble]]</source>"), "max_tokens": 8},
    )
    short = plain.json()["usage"]["completion_tokens"]
    assert rambling.json()["usage"]["completion_tokens"] >= 5 * short
    assert limited.json()["usage"]["completion_tokens"] <= 8
    assert limited.json()["choices"][0]["finish_reason"] == "length"
