"""HTTP clients with the same resilience everywhere: timeouts, connect retries, pooling."""

from __future__ import annotations

import httpx


def resilient_client(
    *,
    base_url: str = "",
    timeout_s: float = 30.0,
    connect_timeout_s: float = 5.0,
    connect_retries: int = 2,
    max_connections: int = 200,
) -> httpx.AsyncClient:
    """An async client that retries only failed *connects* (safe for any method).

    Retrying after a request was sent is the caller's decision (only idempotent methods).
    """
    transport = httpx.AsyncHTTPTransport(
        retries=connect_retries,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=50),
    )
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
    )
