"""The HTTP transport of model calls: aiohttp underneath, httpx objects on top.

Providers build ``httpx.Request`` objects and parse ``httpx.Response`` objects (a clean,
well-typed request/response model). Sending them through aiohttp costs about a quarter of
the client CPU per call that httpx's own pool does at the dozens of concurrent calls a
book translation makes (httpcore's pool re-examines every connection for every waiting
request), and on a machine that also runs the rest of the stack that CPU is wall time.
"""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from folio.egress import EgressPolicy, EgressRefused, ip_literal
from folio_worker.llm.errors import LLMBadRequest

# Response headers that describe the wire encoding aiohttp already undid.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_REQUEST_SKIP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def _timeout(request: httpx.Request, default_s: float) -> aiohttp.ClientTimeout:
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read") or default_s
    connect = timeout.get("connect") or min(10.0, default_s)
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


class EgressResolver(AbstractResolver):
    """Resolves as usual, then keeps only the addresses the egress policy allows.

    The check happens where the connection is made, with the addresses it will use: a
    host that resolved to a public address when the job was accepted and to a private one
    now (DNS rebinding) is refused here.
    """

    def __init__(self, policy: EgressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        allowed, refusal = [], None
        for entry in found:
            try:
                self.policy.check_address(entry["host"], host)
                allowed.append(entry)
            except EgressRefused as exc:
                refusal = exc
        if not allowed:
            raise refusal or EgressRefused(f"{host} resolves to no address")
        return allowed

    async def close(self) -> None:
        await self.inner.close()


def _egress_refusal(exc: BaseException) -> EgressRefused | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, EgressRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class AiohttpTransport:
    """The subset of ``httpx.AsyncClient`` the LLM client uses (``send``, ``post``).

    With an egress policy, every connection's address is checked when it is made (IP
    literals before the request, host names by :class:`EgressResolver`); a refused address
    is an ``LLMBadRequest`` (retrying cannot help).
    """

    def __init__(
        self,
        *,
        timeout_s: float = 300.0,
        max_connections: int = 512,
        egress: EgressPolicy | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self.egress = egress
        self.resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            resolver = self.resolver
            if self.egress is not None:
                resolver = EgressResolver(self.egress, resolver)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.max_connections, ttl_dns_cache=300, resolver=resolver
                ),
                auto_decompress=True,
            )
        return self._session

    def _check_literal(self, request: httpx.Request) -> None:
        if self.egress is None:
            return
        host = request.url.host
        literal = ip_literal(host)
        if literal is None:
            return  # a host name: the resolver checks the addresses it resolves to
        try:
            self.egress.check_address(literal, host)
        except EgressRefused as exc:
            raise LLMBadRequest(f"the provider's address is not allowed: {exc}") from None

    async def send(self, request: httpx.Request, **_: Any) -> httpx.Response:
        self._check_literal(request)
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
        except EgressRefused as exc:
            raise LLMBadRequest(f"the provider's address is not allowed: {exc}") from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout("the provider did not answer in time", request=request) from exc
        except aiohttp.ClientConnectionError as exc:
            refusal = _egress_refusal(exc)
            if refusal is not None:
                raise LLMBadRequest(f"the provider's address is not allowed: {refusal}") from None
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
