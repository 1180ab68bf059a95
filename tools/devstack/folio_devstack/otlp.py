"""A tiny OTLP/HTTP receiver for tests: services export real spans and metrics to it."""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict
    start_ns: int = 0
    end_ns: int = 0


@dataclass(frozen=True)
class ReceivedPoint:
    """One histogram or sum data point of an exported metric."""

    service: str
    metric: str
    attributes: dict
    count: int  # histogram count, or the sum's value
    total: float


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.points: list[ReceivedPoint] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.endswith("/v1/traces"):
                    receiver._ingest(body)
                elif self.path.endswith("/v1/metrics"):
                    receiver._ingest_metrics(body)
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def _ingest(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans = []
        for resource_spans in request.resource_spans:
            service = next(
                (
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                ),
                "?",
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans.append(
                        ReceivedSpan(
                            service=service,
                            name=span.name,
                            kind=span.kind,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={
                                a.key: a.value.string_value or a.value.int_value
                                for a in span.attributes
                            },
                            start_ns=span.start_time_unix_nano,
                            end_ns=span.end_time_unix_nano,
                        )
                    )
        with self._lock:
            self.spans.extend(spans)

    def _ingest_metrics(self, body: bytes) -> None:
        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        points = []
        for resource_metrics in request.resource_metrics:
            service = next(
                (
                    a.value.string_value
                    for a in resource_metrics.resource.attributes
                    if a.key == "service.name"
                ),
                "?",
            )
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if metric.HasField("histogram"):
                        data = [(p, p.count, p.sum) for p in metric.histogram.data_points]
                    elif metric.HasField("sum"):
                        data = [(p, p.as_int, p.as_double) for p in metric.sum.data_points]
                    else:
                        continue
                    for point, count, total in data:
                        attributes = {
                            a.key: a.value.string_value or a.value.int_value
                            for a in point.attributes
                        }
                        points.append(ReceivedPoint(service, metric.name, attributes, count, total))
        with self._lock:
            self.points.extend(points)

    def metric(self, name: str, service: str | None = None) -> list[ReceivedPoint]:
        with self._lock:
            return [
                p
                for p in self.points
                if p.metric == name and (service is None or p.service == service)
            ]

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]
