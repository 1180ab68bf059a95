"""The ``/api/v1`` handler: route, check the body size, authenticate, rate-limit, forward,
stream the answer back. A plain ASGI app, outside the framework's middleware stack: every
request through the gateway pays for exactly this and nothing else.

Bodies are never buffered whole: an upload streams to the service as it arrives (and is
cut off with 413 the moment it passes the route's limit), a download or a stream of
server-sent events goes to the client chunk by chunk as the service writes it. A client
that goes away cancels the upstream request. Failures to reach a service become 502, 503
or 504 problem+json with the request id; the circuit breaker keeps a dead service from
tying up connections, and lets traffic back in by itself once the service answers again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

from folio.identity import IDENTITY_HEADER
from folio.logging import request_id_var
from folio_gateway.auth import (
    ADMIN_SECRET_HEADER,
    Authenticator,
    AuthError,
    Verified,
    bearer_token,
    session_cookie,
)
from folio_gateway.headers import (
    SECURITY_HEADERS,
    IncomingHeaders,
    origin_of,
    read_request_headers,
    response_headers,
)
from folio_gateway.metrics import GatewayMetrics
from folio_gateway.ratelimit import RateLimiter
from folio_gateway.responses import send_problem
from folio_gateway.routes import Auth, Route, RouteTable
from folio_gateway.settings import GatewaySettings
from folio_gateway.upstream import UpstreamFailure, Upstreams

log = logging.getLogger(__name__)
access_log = logging.getLogger("folio.access")
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")
_TRACE = TraceContextTextMapPropagator()
CLIENT_CLOSED = 499  # nginx's code for "the client went away first" (logs and metrics)


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class _Exchange:
    """One request's bookkeeping: whether the client left, whether the body was too large,
    and the task that notices a disconnect while the service is working."""

    __slots__ = ("disconnected", "done", "task", "too_large", "watcher")

    def __init__(self) -> None:
        self.task = asyncio.current_task()
        self.watcher: asyncio.Task[None] | None = None
        self.disconnected = False
        self.too_large = False
        self.done = False

    def watch(self, receive: Receive) -> None:
        """Call once the request body is consumed: then the next message is a disconnect."""
        self.watcher = asyncio.get_running_loop().create_task(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if not self.done and self.task is not None:
                    self.disconnected = True
                    self.task.cancel()
                return

    def finish(self) -> None:
        self.done = True
        if self.watcher is not None:
            self.watcher.cancel()
            self.watcher = None

    def absorb_cancel(self) -> bool:
        """True if a cancellation came from the client's disconnect (and is handled)."""
        if self.disconnected and self.task is not None:
            self.task.uncancel()
            return True
        return False


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives ``body`` first, then whatever the client sends next."""
    sent = False

    async def replay():  # type: ignore[no-untyped-def]
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


@dataclass(slots=True)
class _Outcome:
    status: int = 500
    error: str | None = None
    started: bool = False  # the response has begun: no other status can be sent


class ApiGateway:
    def __init__(
        self,
        *,
        routes: RouteTable,
        authenticator: Authenticator,
        upstreams: Upstreams,
        limiter: RateLimiter,
        metrics: GatewayMetrics,
        settings: GatewaySettings,
        tracer: trace.Tracer,
        local_apps: dict[str, ASGIApp] | None = None,
    ) -> None:
        self.routes = routes
        self.authenticator = authenticator
        self.upstreams = upstreams
        self.limiter = limiter
        self.metrics = metrics
        self.tracer = tracer
        self.local_apps = local_apps if local_apps is not None else {}
        self.max_body = settings.max_body_bytes
        self.max_upload = settings.max_upload_bytes
        self.trusted_hops = settings.trusted_proxy_hops
        self.internal_origins = tuple(
            origin_of(upstream.base_url) for upstream in upstreams.by_name.values()
        )
        self.timeouts = {
            route: upstreams.timeout(
                None if route.stream else (route.timeout_s or settings.upstream_timeout_s)
            )
            for route in routes.routes
        }
        self.hsts = (
            (b"strict-transport-security", f"max-age={settings.hsts_max_age_s}".encode())
            if settings.hsts_max_age_s
            else None
        )
        for route in routes.routes:
            if not limiter.knows(route.rate):
                raise ValueError(f"route {route.pattern} names unknown rate class {route.rate!r}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        incoming = read_request_headers(scope["headers"])
        request_id = incoming.request_id
        if request_id is None or not _VALID_REQUEST_ID.fullmatch(request_id):
            request_id = os.urandom(16).hex()
        rid_token = request_id_var.set(request_id)
        route = self.routes.match(method, path)
        scheme = self._scheme(scope, incoming)
        own = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]
        if scheme == "https" and self.hsts is not None:
            own.append(self.hsts)
        template = route.pattern if route is not None else "unmatched"
        parent = (
            _TRACE.extract({"traceparent": incoming.traceparent, "tracestate": incoming.tracestate})
            if incoming.traceparent
            else None
        )
        span = self.tracer.start_span(f"{method} {template}", context=parent, kind=SpanKind.SERVER)
        span_token = otel_context.attach(trace.set_span_in_context(span))
        outcome = _Outcome()
        try:
            await self._handle(
                scope, receive, send, route, incoming, request_id, scheme, own, outcome
            )
        except Exception:
            log.exception("gateway failure on %s %s", method, path)
            outcome.error = "internal"
            if not outcome.started:
                outcome.status = 500
                await send_problem(
                    send,
                    500,
                    "The gateway failed to handle this request; it has been logged.",
                    instance=path,
                    request_id=request_id,
                    headers=own,
                )
        finally:
            otel_context.detach(span_token)
            if span.is_recording():
                span.set_attributes(
                    {
                        "http.request.method": method,
                        "http.route": template,
                        "url.path": path,
                        "http.response.status_code": outcome.status,
                        "folio.upstream": route.service if route else "",
                    }
                )
                if outcome.error:
                    span.set_attribute("error.type", outcome.error)
            span.end()
            elapsed = time.perf_counter() - started
            self.metrics.request(
                template,
                method,
                outcome.status,
                route.service if route else "",
                elapsed,
                outcome.error,
            )
            access_log.info("%s %s -> %s in %.1f ms", method, path, outcome.status, elapsed * 1000)
            request_id_var.reset(rid_token)

    # -- the steps -----------------------------------------------------------------------

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route | None,
        incoming: IncomingHeaders,
        request_id: str,
        scheme: str,
        own: list[tuple[bytes, bytes]],
        outcome: _Outcome,
    ) -> None:
        path: str = scope["path"]
        head = scope["method"] == "HEAD"

        async def problem(
            status: int,
            detail: str,
            error: str,
            extra: list[tuple[bytes, bytes]] = (),  # type: ignore[assignment]
        ) -> None:
            outcome.status, outcome.error, outcome.started = status, error, True
            await send_problem(
                send,
                status,
                detail,
                instance=path,
                request_id=request_id,
                headers=[*extra, *own],
                head=head,
            )

        if route is None:
            return await problem(404, f"No API route matches {path}.", "no_route")
        limit = self.max_upload if route.body == "upload" else self.max_body
        if incoming.content_length is not None:
            if not incoming.content_length.isdigit():
                return await problem(400, "Content-Length is not a number.", "bad_request")
            if int(incoming.content_length) > limit:
                return await problem(
                    413, f"The request body is larger than {limit} bytes.", "body_too_large"
                )

        verified: Verified | None = None
        auth_error: str | None = None
        if route.admin_secret and incoming.admin_secret is not None:
            if self.authenticator.admin_secret_refused(incoming.admin_secret):
                return await problem(403, "Invalid or missing admin secret key", "forbidden")
        token = bearer_token(incoming.authorization) if incoming.authorization else None
        if token is None and incoming.cookie:
            token = session_cookie(incoming.cookie)
        if token is not None:
            try:
                verified = await self.authenticator.verify(token)
            except AuthError as exc:
                auth_error = str(exc)

        client_ip = self._client_ip(scope, incoming)
        if verified is None and route.auth is not Auth.PUBLIC:
            # Failed sign-ins count against the address, so guessing is limited too.
            refusal = await self.limiter.hit("default", "ip", client_ip)
            if refusal is not None:
                return await problem(
                    429, "Too many requests; slow down.", "rate_limited", refusal.headers()
                )
            challenge = (
                f'Bearer error="invalid_token", error_description="{auth_error}"'
                if auth_error
                else "Bearer"
            )
            detail = "Authentication required" + (f": {auth_error}." if auth_error else ".")
            return await problem(
                401, detail, "unauthenticated", [(b"www-authenticate", challenge.encode())]
            )
        if verified is not None:
            refusal = await self.limiter.hit(route.rate, "user", verified.identity.user_id)
        else:
            refusal = await self.limiter.hit(route.rate, "ip", client_ip)
        if refusal is not None:
            return await problem(
                429,
                f"Too many requests for this kind of call; retry in {refusal.retry_after_s} s.",
                "rate_limited",
                refusal.headers(),
            )

        if route.local is not None:
            return await self._local(
                scope, receive, send, route, verified, incoming, limit, own, outcome, problem
            )
        await self._forward(
            scope,
            receive,
            send,
            route,
            incoming,
            verified,
            request_id,
            scheme,
            client_ip,
            limit,
            own,
            outcome,
            problem,
        )

    async def _local(  # type: ignore[no-untyped-def]
        self, scope, receive, send, route, verified, incoming, limit, own, outcome, problem
    ) -> None:
        """An app served by the gateway itself (GraphQL): it gets the verified identity
        and the token to call services with; its answers get the gateway's own headers."""
        app = self.local_apps.get(route.local)
        if app is None:
            return await problem(501, "This API is not available yet.", "not_implemented")
        token = self.authenticator.internal_token(verified) if verified else None
        if verified is not None and token is None:
            return await problem(
                503, "The gateway cannot forward identities (no signing key).", "misconfigured"
            )
        if incoming.chunked:
            # A body of unknown length is read (up to the route's limit) before the app
            # sees it: local apps read whole bodies.
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    outcome.status, outcome.error = CLIENT_CLOSED, "client_closed"
                    return None
                body += message.get("body", b"")
                if len(body) > limit:
                    return await problem(
                        413, f"The request body is larger than {limit} bytes.", "body_too_large"
                    )
                if not message.get("more_body", False):
                    break
            receive = _replay(bytes(body), receive)
        local_scope = {
            **scope,
            "folio.identity": verified.identity if verified else None,
            "folio.internal_token": token,
        }

        async def send_status(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                outcome.status, outcome.started = message["status"], True
                message = {**message, "headers": [*message.get("headers", []), *own]}
            await send(message)

        await app(local_scope, receive, send_status)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        incoming: IncomingHeaders,
        verified: Verified | None,
        request_id: str,
        scheme: str,
        client_ip: str,
        limit: int,
        own: list[tuple[bytes, bytes]],
        outcome: _Outcome,
        problem,  # type: ignore[no-untyped-def]
    ) -> None:
        upstream = self.upstreams.by_name[route.service]
        breaker = upstream.breaker
        if not breaker.allow():
            return await problem(
                503,
                f"{upstream.name} is unavailable; try again shortly.",
                "circuit_open",
                [(b"retry-after", str(breaker.retry_after_s()).encode())],
            )
        headers = incoming.forward
        forwarded = self._forwarded_for(scope, incoming, client_ip)
        headers.append(("x-forwarded-for", forwarded))
        headers.append(("x-forwarded-proto", scheme))
        if incoming.host:
            headers.append(("x-forwarded-host", incoming.host))
        headers.append(("x-request-id", request_id))
        if route.admin_secret and incoming.admin_secret is not None:
            headers.append((ADMIN_SECRET_HEADER, incoming.admin_secret))  # checked above
        if verified is not None:
            internal = self.authenticator.internal_token(verified)
            if internal is None:
                return await problem(
                    503, "The gateway cannot forward identities (no signing key).", "misconfigured"
                )
            headers.append((IDENTITY_HEADER, internal))
        carrier: dict[str, str] = {}
        _TRACE.inject(carrier)
        headers.extend(carrier.items())

        method: str = scope["method"]
        exchange = _Exchange()
        has_body = bool(incoming.chunked or (incoming.content_length not in (None, "0")))
        body = self._body(receive, limit, exchange) if has_body else None
        if body is None:
            exchange.watch(receive)
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        call_started = time.perf_counter()
        try:
            try:
                response = await self.upstreams.send(
                    upstream, method, path, query, headers, body, self.timeouts[route]
                )
            except UpstreamFailure as failure:
                if exchange.too_large:
                    return await problem(
                        413, f"The request body is larger than {limit} bytes.", "body_too_large"
                    )
                if exchange.disconnected:
                    outcome.status, outcome.error = CLIENT_CLOSED, "client_closed"
                    return None
                self._failed(upstream.name, breaker)
                self.metrics.upstream_call(
                    upstream.name, method, None, time.perf_counter() - call_started, failure.kind
                )
                extra = (
                    [(b"retry-after", str(failure.retry_after).encode())]
                    if failure.retry_after
                    else []
                )
                return await problem(failure.status, failure.detail, failure.kind, extra)
            self.metrics.upstream_call(
                upstream.name, method, response.status, time.perf_counter() - call_started, None
            )
            if response.status in (502, 503, 504):
                self._failed(upstream.name, breaker)
            else:
                breaker.success()
            await self._relay(send, response, own, exchange, outcome)
        except asyncio.CancelledError:
            if not exchange.absorb_cancel():
                raise
            outcome.status, outcome.error = CLIENT_CLOSED, "client_closed"
        finally:
            exchange.finish()

    async def _relay(
        self,
        send: Send,
        response: aiohttp.ClientResponse,
        own: list[tuple[bytes, bytes]],
        exchange: _Exchange,
        outcome: _Outcome,
    ) -> None:
        outcome.status, outcome.started = response.status, True
        try:
            headers = response_headers(response.raw_headers, self.internal_origins)
            headers.extend(own)
            start = {"type": "http.response.start", "status": response.status, "headers": headers}
            await send(start)
            content = response.content
            chunk = await content.readany()
            while True:
                if not chunk or content.at_eof():
                    exchange.done = True
                    await send({"type": "http.response.body", "body": chunk})
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                chunk = await content.readany()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The answer started, so there is no status left to change: cut the
            # connection (the client sees an incomplete response, never a wrong one).
            log.warning("response from upstream broke off: %s", type(exc).__name__)
            outcome.error = "upstream_aborted"
            response.close()
        finally:
            response.release()

    async def _body(
        self, receive: Receive, limit: int, exchange: _Exchange
    ) -> AsyncIterator[bytes]:
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                exchange.disconnected = True
                raise _ClientGone
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                exchange.too_large = True
                raise _BodyTooLarge
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                break
        exchange.watch(receive)

    # -- helpers -------------------------------------------------------------------------

    def _failed(self, name: str, breaker) -> None:  # type: ignore[no-untyped-def]
        opened = breaker.opened
        breaker.failure()
        if breaker.opened != opened:
            log.warning("%s: circuit opened after %d failures", name, breaker.failures)
            self.metrics.circuit_opened(name)

    def _scheme(self, scope: Scope, incoming: IncomingHeaders) -> str:
        if self.trusted_hops and incoming.forwarded_proto:
            return incoming.forwarded_proto.split(",")[-1].strip().lower()
        return scope.get("scheme", "http")

    def _client_ip(self, scope: Scope, incoming: IncomingHeaders) -> str:
        peer = scope["client"][0] if scope.get("client") else ""
        if self.trusted_hops and incoming.forwarded_for:
            chain = [part.strip() for part in incoming.forwarded_for.split(",") if part.strip()]
            if chain:
                return chain[max(0, len(chain) - self.trusted_hops)]
        return peer

    def _forwarded_for(self, scope: Scope, incoming: IncomingHeaders, client_ip: str) -> str:
        peer = scope["client"][0] if scope.get("client") else ""
        if self.trusted_hops and incoming.forwarded_for:
            chain = [part.strip() for part in incoming.forwarded_for.split(",") if part.strip()]
            return ", ".join([*chain[-self.trusted_hops :], peer])
        return peer
