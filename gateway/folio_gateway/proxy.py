"""Streaming reverse proxy: bodies flow through in chunks, never buffered whole.

It drops hop-by-hop headers and every identity header a client might try to smuggle in,
adds the request id, the forwarding headers and the signed identity, enforces the body
size limit, and turns upstream failures into problem+json (503 when a service is down,
504 when it is too slow), with a small circuit breaker per service so a dead service
fails fast instead of tying up connections.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from folio.errors import Problem
from folio.identity import CLIENT_FORBIDDEN_HEADERS, IDENTITY_HEADER
from folio.logging import request_id_var

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; lets one probe through per cooldown."""

    def __init__(self, threshold: int = 5, cooldown_s: float = 10.0) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.opened_at: float | None = None

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at >= self.cooldown_s:
            self.opened_at = time.monotonic()  # half-open: one probe per cooldown
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class BodyTooLarge(Exception):
    pass


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge
        yield chunk


class Proxy:
    def __init__(self, client: httpx.AsyncClient, *, max_body_bytes: int, timeout_s: float) -> None:
        self.client = client
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.breakers: dict[str, CircuitBreaker] = {}

    def _breaker(self, upstream: str) -> CircuitBreaker:
        return self.breakers.setdefault(upstream, CircuitBreaker())

    def _request_headers(
        self, request: Request, identity_token: str | None
    ) -> list[tuple[str, str]]:
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name not in HOP_BY_HOP
            and name not in CLIENT_FORBIDDEN_HEADERS
            # Upstream trace context comes from our own span, not the client's.
            and name not in ("traceparent", "tracestate")
        ]
        client_host = request.client.host if request.client else ""
        forwarded_for = request.headers.get("x-forwarded-for")
        headers.append(
            ("x-forwarded-for", f"{forwarded_for}, {client_host}" if forwarded_for else client_host)
        )
        headers.append(("x-forwarded-proto", request.url.scheme))
        headers.append(("x-forwarded-host", request.headers.get("host", "")))
        if request_id := request_id_var.get():
            headers = [(k, v) for k, v in headers if k != "x-request-id"]
            headers.append(("x-request-id", request_id))
        if identity_token:
            headers.append((IDENTITY_HEADER, identity_token))
        return headers

    async def forward(
        self, request: Request, upstream: str, base_url: str, identity_token: str | None
    ) -> Response:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body_bytes:
            raise Problem(413, f"The request body is larger than {self.max_body_bytes} bytes.")
        breaker = self._breaker(upstream)
        if not breaker.allow():
            raise Problem(
                503, f"{upstream} is unavailable; try again shortly.", headers={"Retry-After": "10"}
            )
        # The path as the client encoded it (a decoded one may hold characters, e.g. %00,
        # that are not valid in a URL).
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        try:
            url = httpx.URL(
                base_url.rstrip("/") + raw_path.decode("latin-1"),
                query=request.url.query.encode(),
            )
        except httpx.InvalidURL as exc:
            raise Problem(400, "The request path is not a valid URL path.") from exc
        has_body = request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") or bool(length)
        upstream_request = self.client.build_request(
            request.method,
            url,
            headers=self._request_headers(request, identity_token),
            content=_limited(request.stream(), self.max_body_bytes) if has_body else None,
            timeout=self.timeout_s,
        )
        try:
            upstream_response = await self.client.send(upstream_request, stream=True)
        except BodyTooLarge as exc:
            raise Problem(
                413, f"The request body is larger than {self.max_body_bytes} bytes."
            ) from exc
        except httpx.TimeoutException as exc:
            breaker.failure()
            raise Problem(504, f"{upstream} did not answer in time.") from exc
        except httpx.TransportError as exc:
            breaker.failure()
            log.warning("%s unreachable: %s", upstream, exc)
            raise Problem(
                503, f"{upstream} is unavailable; try again shortly.", headers={"Retry-After": "5"}
            ) from exc
        if upstream_response.status_code >= 500:
            breaker.failure()
        else:
            breaker.success()
        response_headers = [
            (name, value)
            for name, value in upstream_response.headers.multi_items()
            if name.lower() not in HOP_BY_HOP and name.lower() != "x-request-id"
        ]
        return StreamingResponse(
            upstream_response.aiter_raw(),
            status_code=upstream_response.status_code,
            headers=dict(_merge(response_headers)),
            background=BackgroundTask(upstream_response.aclose),
        )


def _merge(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # Starlette takes a dict; keep repeated headers (e.g. Set-Cookie) comma-joined except
    # Set-Cookie, which cannot be joined and is rare from our services.
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged and key != "set-cookie" else value
    return list(merged.items())
