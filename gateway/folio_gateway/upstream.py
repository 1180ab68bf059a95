"""Connections to the services: one pooled keep-alive client, a circuit breaker per
service, retries of idempotent requests when the connection could not be made.

aiohttp rather than httpx: under concurrency httpx's pool re-examines every pooled
connection for every waiting request (measured: about half the gateway's CPU time went
there), where aiohttp's connector hands a free connection over in constant time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass

import aiohttp
from yarl import URL

log = logging.getLogger(__name__)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


class CircuitBreaker:
    """Closed until ``threshold`` consecutive failures; then open for ``cooldown_s``
    (calls fail fast); then half-open: one probe at a time, whose outcome closes or
    re-opens the circuit. Recovery needs no restart."""

    def __init__(self, threshold: int = 5, cooldown_s: float = 5.0) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False
        self.opened = 0  # how many times it opened (for metrics and tests)

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.probing else "open"

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if self.probing or time.monotonic() - self.opened_at < self.cooldown_s:
            return False
        self.probing = True  # this caller is the probe
        return True

    def retry_after_s(self) -> int:
        if self.opened_at is None:
            return 0
        return max(1, round(self.cooldown_s - (time.monotonic() - self.opened_at)))

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.probing = False

    def failure(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.threshold:
            if self.opened_at is None or self.probing:
                self.opened += 1
            self.opened_at = time.monotonic()
            self.probing = False


@dataclass
class Upstream:
    name: str
    base_url: str
    breaker: CircuitBreaker

    def __post_init__(self) -> None:
        self.base = URL(self.base_url.rstrip("/"))


def _without_client_instrumentation(session: aiohttp.ClientSession) -> None:
    """The proxy traces and measures its upstream calls itself; the generic aiohttp
    instrumentation (installed process-wide when present) would do it a second time."""
    try:
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    except ImportError:
        return
    AioHttpClientInstrumentor.uninstrument_session(session)


class UpstreamFailure(Exception):
    """The service could not be reached, or did not answer in time, or answered badly."""

    def __init__(self, status: int, kind: str, detail: str, retry_after: int | None = None):
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


class Upstreams:
    def __init__(
        self,
        urls: dict[str, str],
        *,
        max_connections: int = 256,
        keepalive_s: float = 30.0,
        connect_timeout_s: float = 3.0,
        connect_retries: int = 2,
        failure_threshold: int = 5,
        cooldown_s: float = 5.0,
    ) -> None:
        self.by_name = {
            name: Upstream(name, url, CircuitBreaker(failure_threshold, cooldown_s))
            for name, url in urls.items()
        }
        self.max_connections = max_connections
        self.keepalive_s = keepalive_s
        self.connect_timeout_s = connect_timeout_s
        self.connect_retries = connect_retries
        self.retries = 0  # requests sent again after a failed connect
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0,
                limit_per_host=self.max_connections,
                keepalive_timeout=self.keepalive_s,
                ttl_dns_cache=30,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # Bodies pass through as the service encoded them; the client decides.
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout_s),
                # Header values are the client's, already checked by our server.
                requote_redirect_url=False,
                trust_env=False,
            )
            _without_client_instrumentation(self._session)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def timeout(self, read_timeout_s: float | None) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=self.connect_timeout_s,
            sock_read=read_timeout_s,
        )

    async def send(
        self,
        upstream: Upstream,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: AsyncIterable[bytes] | None,
        read_timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        """Send a request; retry it only when it is idempotent and the connection could
        not be made (or, without a body, a pooled connection turned out to be closed)."""
        url = upstream.base.with_path(path, encoded=True)
        if query:
            url = url.with_query(query)
        retriable = method in IDEMPOTENT
        attempt = 0
        while True:
            try:
                return await self.session.request(
                    method,
                    url,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    timeout=read_timeout,
                )
            except aiohttp.ClientConnectorError as exc:
                if not retriable or attempt >= self.connect_retries:
                    raise UpstreamFailure(
                        503,
                        "unavailable",
                        f"{upstream.name} is unavailable; try again shortly.",
                        retry_after=5,
                    ) from exc
            except aiohttp.ServerDisconnectedError as exc:
                if not retriable or body is not None or attempt >= self.connect_retries:
                    raise UpstreamFailure(
                        502, "bad_gateway", f"{upstream.name} closed the connection."
                    ) from exc
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                raise UpstreamFailure(
                    504, "timeout", f"{upstream.name} did not answer in time."
                ) from exc
            except aiohttp.ClientError as exc:
                raise UpstreamFailure(
                    502, "bad_gateway", f"{upstream.name} answered with an invalid response."
                ) from exc
            attempt += 1
            self.retries += 1
            await asyncio.sleep(0.02 * attempt)
