"""The real server: ``python -m folio_fakellm`` as a subprocess, spoken to over TCP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from folio_fakellm.pseudo import pseudo_translate


@pytest.fixture(scope="module")
def server(spawn_server: Callable[[dict[str, str]], str]) -> str:
    return spawn_server(
        {
            "FAKE_LLM_LATENCY_BASE_MS": "100",
            "FAKE_LLM_DEFAULT_TARGET_LANGUAGE": "Japanese",
            "FAKE_LLM_MODELS": "fake-model,other-model",
        }
    )


async def in_flight(client: httpx.AsyncClient, count: int) -> None:
    """Until the server is answering ``count`` requests (a deadline, not a measurement)."""
    for _ in range(600):
        if (await client.get("/_fake/stats")).json()["in_flight"] >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server never had {count} requests in flight")


async def test_subprocess_serves_both_protocols_concurrently(server: str) -> None:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=server, limits=limits, timeout=30) as client:
        models = (await client.get("/v1/models")).json()
        assert [m["id"] for m in models["data"]] == ["fake-model", "other-model"]
        # One request held for a minute: everything below is answered while it is still in
        # flight, which a server handling one request at a time could not do.
        held = asyncio.ensure_future(
            client.post(
                "/v1beta/models/fake-model:generateContent",
                params={"key": "k"},
                json={
                    "contents": [{"parts": [{"text": "<source>Held.</source> [[fake:slow=60]]"}]}]
                },
            )
        )
        await in_flight(client, 1)

        async def openai(i: int) -> str:
            r = await client.post(
                "/v1/chat/completions",
                headers={"Authorization": "Bearer k"},
                json={
                    "model": "fake-model",
                    "messages": [{"role": "user", "content": f"<source>Tale {i}.</source>"}],
                },
            )
            assert r.status_code == 200
            content: str = r.json()["choices"][0]["message"]["content"]
            return content

        async def gemini(i: int) -> str:
            r = await client.post(
                "/v1beta/models/fake-model:generateContent",
                params={"key": "k"},
                json={"contents": [{"parts": [{"text": f"<source>Tale {i}.</source>"}]}]},
            )
            assert r.status_code == 200
            text: str = r.json()["candidates"][0]["content"]["parts"][0]["text"]
            return text

        results = await asyncio.gather(
            *(openai(i) for i in range(50)), *(gemini(i) for i in range(50))
        )
        expected = [pseudo_translate(f"Tale {i}.", "Japanese") for i in range(50)]
        assert results == expected + expected
        stats = (await client.get("/_fake/stats")).json()
        assert not held.done() and stats["in_flight"] == 1  # the held one, and only it
        assert stats["by_endpoint"]["openai.chat"] == 50
        assert stats["by_endpoint"]["gemini.generateContent"] == 50
        held.cancel()  # and wait for it to go, before its client closes
        with contextlib.suppress(asyncio.CancelledError):
            await held


async def test_subprocess_slow_marker_lets_client_time_out(server: str) -> None:
    payload = {
        "contents": [{"parts": [{"text": "<source>Late.</source> [[fake:slow=1.5*1]]"}]}],
    }
    url = "/v1beta/models/fake-model:generateContent"
    async with httpx.AsyncClient(base_url=server, params={"key": "k"}) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(url, json=payload, timeout=httpx.Timeout(0.5))
        r = await client.post(url, json=payload, timeout=httpx.Timeout(5))
        assert r.status_code == 200
        assert r.json()["candidates"][0]["content"]["parts"][0]["text"] == pseudo_translate(
            "Late.", "ja"
        )


async def test_client_disconnect_mid_body_is_quiet(app: FastAPI) -> None:
    """A client hanging up while sending its body gets no traceback, just a 499."""
    sent: list[MutableMapping[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "headers": [(b"authorization", b"Bearer k"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "scheme": "http",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
