"""Traces and metrics leave the gateway through OpenTelemetry (OTLP), per route and per
upstream, and the client's trace continues into the service."""

from __future__ import annotations

import asyncio
import json
import os

import httpx

from folio_devstack.pytest_plugin import wait_until

from .conftest import GatewayProcess


async def raw_get(port: int, path: str, headers: dict[str, str]) -> dict:
    """A plain HTTP/1.1 request: whatever instruments this test process's HTTP clients
    cannot replace the trace context the test sends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(body)


async def test_requests_are_traced_and_measured_per_route_and_upstream(
    backends, keys, otlp_receiver, tmp_path
):
    process = await GatewayProcess(
        backends.gateway_env(
            keys,
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_METRIC_EXPORT_INTERVAL="300",
            OTEL_BSP_SCHEDULE_DELAY="100",
            OTEL_SERVICE_NAME="gateway-telemetry-test",
        )
    ).start(tmp_path)
    service = "gateway-telemetry-test"
    trace_id, parent_id = os.urandom(16).hex(), os.urandom(8).hex()
    try:
        echoed = await raw_get(
            process.port,
            "/api/v1/community/categories?fake=echo",
            {"traceparent": f"00-{trace_id}-{parent_id}-01"},
        )
        forwarded = dict(echoed["headers"])["traceparent"]
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
            for _ in range(3):
                await client.get("/api/v1/community/posts?fake=echo")
            await client.get("/api/v1/community/posts?fake=status&code=500")
            await client.get("/api/v1/unknown-area")

        # The service's trace context is the client's trace, under the gateway's span.
        _, forwarded_trace, forwarded_parent, _ = forwarded.split("-")
        assert forwarded_trace == trace_id and forwarded_parent != parent_id

        async def gateway_span():  # type: ignore[no-untyped-def]
            spans = [s for s in otlp_receiver.trace(trace_id) if s.service == service]
            return spans[0] if spans else None

        span = await wait_until(gateway_span, timeout_s=10)
        assert span.kind == 2  # SERVER
        assert span.parent_span_id == parent_id and span.span_id == forwarded_parent
        assert span.name == "GET /api/v1/community/categories/**"
        assert span.attributes["folio.upstream"] == "community-service"
        assert span.attributes["http.response.status_code"] == 200

        def latest(name: str, **attributes: object) -> int:
            counts = [
                p.count
                for p in otlp_receiver.metric(name, service)
                if all(p.attributes.get(k) == v for k, v in attributes.items())
            ]
            return max(counts, default=0)  # cumulative: the latest export has the most

        async def measured() -> bool:
            return (
                latest(
                    "http.server.request.duration",
                    **{
                        "http.route": "/api/v1/community/posts/**",
                        "http.response.status_code": 200,
                    },
                )
                == 3
            )

        await wait_until(measured, timeout_s=10)
        assert (
            latest(
                "http.server.request.duration",
                **{"http.route": "/api/v1/community/posts/**", "http.response.status_code": 500},
            )
            == 1
        )
        assert (
            latest(
                "http.server.request.duration",
                **{"http.route": "unmatched", "error.type": "no_route"},
            )
            == 1
        )
        assert (
            latest(
                "http.client.request.duration",
                **{"folio.upstream": "community-service", "http.response.status_code": 200},
            )
            == 4
        )
    finally:
        process.stop()
