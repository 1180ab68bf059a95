"""The HTTP transport of model calls: aiohttp underneath, httpx objects on top.

Providers build ``httpx.Request`` objects and parse ``httpx.Response`` objects (a clean,
well-typed request/response model). Sending them through aiohttp costs about a quarter of
the client CPU per call that httpx's own pool does at the dozens of concurrent calls a
book translation makes (httpcore's pool re-examines every connection for every waiting
request), and on a machine that also runs the rest of the stack that CPU is wall time.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx

# Response headers that describe the wire encoding aiohttp already undid.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_REQUEST_SKIP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def _timeout(request: httpx.Request, default_s: float) -> aiohttp.ClientTimeout:
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read") or default_s
    connect = timeout.get("connect") or min(10.0, default_s)
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


class AiohttpTransport:
    """The subset of ``httpx.AsyncClient`` the LLM client uses (``send``, ``post``)."""

    def __init__(self, *, timeout_s: float = 300.0, max_connections: int = 512) -> None:
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, ttl_dns_cache=300),
                auto_decompress=True,
            )
        return self._session

    async def send(self, request: httpx.Request, **_: Any) -> httpx.Response:
        headers = [
            (k, v) for k, v in request.headers.multi_items() if k.lower() not in _REQUEST_SKIP
        ]
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=headers,
                data=request.content or None,
                timeout=_timeout(request, self.timeout_s),
                allow_redirects=False,
            ) as response:
                body = await response.read()
                return httpx.Response(
                    response.status,
                    headers=[
                        (k, v)
                        for k, v in response.headers.items()
                        if k.lower() not in _WIRE_HEADERS
                    ],
                    content=body,
                    request=request,
                )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout("the provider did not answer in time", request=request) from exc
        except aiohttp.ClientConnectionError as exc:
            raise httpx.ConnectError(type(exc).__name__, request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.TransportError(type(exc).__name__, request=request) from exc

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        timeout = kwargs.pop("timeout", None)
        request = httpx.Request(method, url, **kwargs)
        if timeout is not None:
            request.extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        return await self.send(request)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
