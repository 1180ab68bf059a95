"""How the GraphQL resolvers reach the services: their public HTTP APIs, as the caller.

Every call carries the caller's signed internal identity (the same token the proxy
forwards; none for an anonymous caller), so each service applies its own rules exactly
as it does for a REST call: GraphQL can never show more than the REST routes do. The
calls use the proxy's pooled connections, circuit breakers and metrics. A service's
refusal becomes a GraphQL error with a stable ``code`` (and the service's own detail).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from graphql import GraphQLError
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from folio.identity import IDENTITY_HEADER
from folio_gateway.metrics import GatewayMetrics
from folio_gateway.upstream import UpstreamFailure, Upstreams

log = logging.getLogger(__name__)
_TRACE = TraceContextTextMapPropagator()
CODES = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "BAD_USER_INPUT",
    422: "BAD_USER_INPUT",
    429: "RATE_LIMITED",
}


class ServiceError(GraphQLError):
    """A service refused or failed a call; shown to the client as the service said it."""

    def __init__(self, message: str, code: str, status: int | None = None) -> None:
        extensions: dict[str, Any] = {"code": code}
        if status is not None:
            extensions["status"] = status
        super().__init__(message, extensions=extensions)
        self.code = code
        self.status = status


def _detail(body: bytes, status: int) -> str:
    try:
        problem = json.loads(body)
    except ValueError:
        problem = None
    if isinstance(problem, dict) and isinstance(problem.get("detail"), str):
        return problem["detail"]
    return f"The service answered {status}."


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class ServiceCalls:
    """One GraphQL request's calls to the services (``calls`` counts them)."""

    def __init__(
        self,
        upstreams: Upstreams,
        *,
        internal_token: str | None,
        request_id: str | None,
        timeout_s: float,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.upstreams = upstreams
        self.internal_token = internal_token
        self.request_id = request_id
        self.timeout = upstreams.timeout(timeout_s)
        self.metrics = metrics
        self.calls = 0

    @property
    def signed_in(self) -> bool:
        return self.internal_token is not None

    async def get(
        self, service: str, path: str, params: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, str]]:
        """GET ``path`` from ``service`` as the caller: (the JSON body, the headers)."""
        upstream = self.upstreams.by_name[service]
        breaker = upstream.breaker
        if not breaker.allow():
            raise ServiceError(f"{service} is unavailable; try again shortly.", "UNAVAILABLE", 503)
        headers = [("accept", "application/json")]
        if self.request_id:
            headers.append(("x-request-id", self.request_id))
        if self.internal_token:
            headers.append((IDENTITY_HEADER, self.internal_token))
        carrier: dict[str, str] = {}
        _TRACE.inject(carrier)
        headers.extend(carrier.items())
        query = urlencode(
            {k: _param(v) for k, v in (params or {}).items() if v is not None}, doseq=True
        ).replace("+", "%20")
        self.calls += 1
        started = time.perf_counter()
        try:
            response = await self.upstreams.send(
                upstream, "GET", path, query, headers, None, self.timeout
            )
            try:
                body = await response.read()
            finally:
                response.release()
        except (UpstreamFailure, aiohttp.ClientError, TimeoutError) as exc:
            self._failed(upstream.name, breaker)
            kind = exc.kind if isinstance(exc, UpstreamFailure) else "bad_gateway"
            self._measure(service, None, started, kind)
            detail = exc.detail if isinstance(exc, UpstreamFailure) else f"{service} failed."
            raise ServiceError(detail, "UNAVAILABLE", 503) from None
        status = response.status
        self._measure(service, status, started, None)
        if status in (502, 503, 504):
            self._failed(upstream.name, breaker)
        else:
            breaker.success()
        if status != 200:
            code = CODES.get(status, "UNAVAILABLE" if status >= 500 else "BAD_REQUEST")
            raise ServiceError(_detail(body, status), code, status)
        try:
            data = json.loads(body)
        except ValueError:
            raise ServiceError(f"{service} answered with invalid JSON.", "UNAVAILABLE") from None
        return data, {k.lower(): v for k, v in response.headers.items()}

    async def get_json(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        data, _ = await self.get(service, path, params)
        return data

    def _measure(self, service: str, status: int | None, started: float, error: str | None) -> None:
        if self.metrics is not None:
            self.metrics.upstream_call(service, "GET", status, time.perf_counter() - started, error)

    def _failed(self, name: str, breaker) -> None:  # type: ignore[no-untyped-def]
        opened = breaker.opened
        breaker.failure()
        if breaker.opened != opened:
            log.warning("%s: circuit opened after %d failures", name, breaker.failures)
            if self.metrics is not None:
                self.metrics.circuit_opened(name)
