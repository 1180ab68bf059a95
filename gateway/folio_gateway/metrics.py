"""Request rate, errors and latency per route and per upstream, through OpenTelemetry.

Two histograms with the semantic-convention names, so any OpenTelemetry backend derives
rate (count), errors (by status or ``error.type``) and latency (buckets) from them:
``http.server.request.duration`` per gateway route (its route-table pattern, never the
raw path) and ``http.client.request.duration`` per upstream service.
"""

from __future__ import annotations

from opentelemetry.metrics import MeterProvider

# Seconds; fine steps below 10 ms, where a proxy's own cost shows.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    def __init__(self, provider: MeterProvider) -> None:
        meter = provider.get_meter("folio.gateway")
        self._server = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Requests through the gateway, by route",
            explicit_bucket_boundaries_advisory=_BUCKETS,
        )
        self._client = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Calls from the gateway to each service",
            explicit_bucket_boundaries_advisory=_BUCKETS,
        )
        self._circuit = meter.create_counter(
            "folio.gateway.circuit.opened",
            description="Times a service's circuit breaker opened",
        )

    def request(
        self,
        route: str,
        method: str,
        status: int,
        upstream: str,
        seconds: float,
        error: str | None,
    ) -> None:
        attributes = {
            "http.route": route,
            "http.request.method": method,
            "http.response.status_code": status,
            "folio.upstream": upstream,
        }
        if error:
            attributes["error.type"] = error
        self._server.record(seconds, attributes)

    def upstream_call(
        self, upstream: str, method: str, status: int | None, seconds: float, error: str | None
    ) -> None:
        attributes: dict[str, str | int] = {
            "folio.upstream": upstream,
            "server.address": upstream,
            "http.request.method": method,
        }
        if status is not None:
            attributes["http.response.status_code"] = status
        if error:
            attributes["error.type"] = error
        self._client.record(seconds, attributes)

    def circuit_opened(self, upstream: str) -> None:
        self._circuit.add(1, {"folio.upstream": upstream})
