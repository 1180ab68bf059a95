"""The production transport against a real HTTP server that drops idle keep-alive connections.

Servers close idle keep-alive connections without telling the client (uvicorn after 5 s);
a request sent on one at that moment meets a closed socket. The server here makes that
race certain: it answers the first request of each connection with a keep-alive response,
then closes the connection when the next request arrives, without reading or answering it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from folio.contracts.providers import ProviderConfig
from folio_worker.llm import CallUsage, InProcessRateLimiter, LLMClient, LLMRequest
from folio_worker.llm.transport import AiohttpTransport

ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "local-model",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "안녕"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


@dataclass
class DroppingServer:
    """Answers one request per connection; a second one on it closes the connection.

    With ``answer=False`` it closes every connection once a request has arrived on it.
    """

    answer: bool = True
    connections: int = 0
    answered: int = 0
    dropped: int = 0
    url: str = ""
    _server: asyncio.Server | None = field(default=None, repr=False)

    async def _read_request(self, reader: asyncio.StreamReader) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        await reader.readexactly(length)
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if not await self._read_request(reader):
                return
            if not self.answer:
                self.dropped += 1
                return
            body = json.dumps(ANSWER).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"connection: keep-alive\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            self.answered += 1
            # The connection is idle now, and expired as far as this server cares: the
            # next request on it is not read, the connection just closes.
            if await reader.read(1):
                self.dropped += 1
        finally:
            writer.close()

    async def __aenter__(self) -> DroppingServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    http = AiohttpTransport(timeout_s=10)
    yield http
    await http.aclose()


async def test_a_request_on_a_connection_the_server_closed_is_resent_on_a_new_one(
    transport: AiohttpTransport,
) -> None:
    async with DroppingServer() as server:
        first = await transport.post(server.url + "/v1/chat/completions", content=b"{}")
        second = await transport.post(server.url + "/v1/chat/completions", content=b"{}")

    assert first.status_code == second.status_code == 200
    assert second.json()["choices"][0]["message"]["content"] == "안녕"
    # The second request met the closed connection, then went out on a new one.
    assert (server.connections, server.dropped, server.answered) == (2, 1, 2)


async def test_a_failure_on_a_new_connection_is_not_resent(transport: AiohttpTransport) -> None:
    async with DroppingServer(answer=False) as server:
        with pytest.raises(httpx.ConnectError):
            await transport.post(server.url + "/v1/chat/completions", content=b"{}")

    assert (server.connections, server.dropped, server.answered) == (1, 1, 0)


async def test_the_model_call_costs_no_failed_attempt_when_a_connection_expired(
    transport: AiohttpTransport,
) -> None:
    calls: list[CallUsage] = []
    async with DroppingServer() as server:
        config = ProviderConfig(
            provider="openai", model="local-model", base_url=server.url + "/v1", api_keys=("k",)
        )
        # One attempt allowed: a resend counted as a failed attempt would fail the call.
        client = LLMClient(
            config,
            transport,  # type: ignore[arg-type]
            limiter=InProcessRateLimiter(),
            max_attempts=1,
            on_call=calls.append,
        )
        for _ in range(4):
            answer = await client.generate(LLMRequest(prompt="Translate: hello"))
            assert answer.text == "안녕"

    # Calls 2 and 4 met an expired connection (calls 1 and 3 opened new pooled ones).
    assert (server.dropped, server.answered) == (2, 4)
    assert len(calls) == 4  # one usage record per call, none for the dropped requests
