"""The HTTP transport of model calls: aiohttp underneath, httpx objects on top.

Providers build ``httpx.Request`` objects and parse ``httpx.Response`` objects (a clean,
well-typed request/response model). Sending them through aiohttp costs about a quarter of
the client CPU per call that httpx's own pool does at the dozens of concurrent calls a
book translation makes (httpcore's pool re-examines every connection for every waiting
request), and on a machine that also runs the rest of the stack that CPU is wall time.
"""

from __future__ import annotations

import socket
from types import SimpleNamespace
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

# How long an idle pooled connection is kept. Servers close idle keep-alive connections on
# their own schedule (uvicorn and Node after 5 s, many proxies after 5 - 60 s) without
# telling the client; a request sent on one at that moment fails. Dropping ours first makes
# that race rare, and ``AiohttpTransport.send`` resends the few that still lose it.
KEEPALIVE_S = 4.0


async def _mark_reused(_session: Any, context: SimpleNamespace, _params: Any) -> None:
    context.trace_request_ctx.reused = True


def _connection_tracing() -> aiohttp.TraceConfig:
    """Tells each request whether it went out on a connection taken from the pool."""
    tracing = aiohttp.TraceConfig()
    tracing.on_connection_reuseconn.append(_mark_reused)
    return tracing


def _lost_idle_connection(exc: BaseException, use: SimpleNamespace) -> bool:
    """A request that failed on a pooled connection the server had closed, before any answer.

    Only the sending phase is covered (the caller calls this for errors raised before the
    response's headers arrive): the server cannot have acted on a request it dropped with
    the connection, so sending it again on a fresh connection is safe (RFC 9112 9.3.1).
    A failure on a fresh connection is a real connection error.
    """
    if not use.reused or isinstance(exc, aiohttp.ClientConnectorError):
        return False
    return isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError))


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
        self._fresh: aiohttp.ClientSession | None = None

    def _resolver(self) -> AbstractResolver | None:
        if self.egress is None:
            return self.resolver
        return EgressResolver(self.egress, self.resolver)

    def _new_session(self, *, pooled: bool) -> aiohttp.ClientSession:
        """The pooled session (idle connections kept ``KEEPALIVE_S``, each request told
        whether its connection was reused), or one that opens a connection per request."""
        connection = {"keepalive_timeout": KEEPALIVE_S} if pooled else {"force_close": True}
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self.max_connections,
                ttl_dns_cache=300,
                resolver=self._resolver(),
                **connection,
            ),
            auto_decompress=True,
            trace_configs=[_connection_tracing()] if pooled else None,
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._new_session(pooled=True)
        return self._session

    def _fresh_client(self) -> aiohttp.ClientSession:
        """A session that opens a new connection for every request (for resends only)."""
        if self._fresh is None or self._fresh.closed:
            self._fresh = self._new_session(pooled=False)
        return self._fresh

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
        try:
            return await self._send(request)
        except EgressRefused as exc:
            raise LLMBadRequest(f"the provider's address is not allowed: {exc}") from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout("the provider did not answer in time", request=request) from exc
        except aiohttp.ClientConnectionError as exc:
            refusal = _egress_refusal(exc)
            if refusal is not None:
                raise LLMBadRequest(f"the provider's address is not allowed: {refusal}") from None
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.TransportError(type(exc).__name__, request=request) from exc

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Sends once, and once more at once if a pooled connection turned out closed.

        The resend is not a retry of a failed call: nothing reached the server. After a
        failed reused connection aiohttp drops it, but the pool's other idle connections are
        as old, so the resend goes out on a new connection of its own.
        """
        headers = [
            (k, v) for k, v in request.headers.multi_items() if k.lower() not in _REQUEST_SKIP
        ]
        session = self._client()
        use = SimpleNamespace(reused=False)
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=request.content or None,
                timeout=_timeout(request, self.timeout_s),
                allow_redirects=False,
                trace_request_ctx=use,
            )
        except aiohttp.ClientError as exc:
            if not _lost_idle_connection(exc, use):
                raise
            response = await self._fresh_client().request(
                request.method,
                str(request.url),
                headers=headers,
                data=request.content or None,
                timeout=_timeout(request, self.timeout_s),
                allow_redirects=False,
            )
        async with response:
            body = await response.read()
            return httpx.Response(
                response.status,
                headers=[
                    (k, v) for k, v in response.headers.items() if k.lower() not in _WIRE_HEADERS
                ],
                content=body,
                request=request,
            )

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
        for session in (self._session, self._fresh):
            if session is not None:
                await session.close()
