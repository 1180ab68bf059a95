"""OpenTelemetry bootstrap: traces, metrics and log correlation for one service.

Service identity comes from the environment (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``). Spans and metrics are exported over OTLP/HTTP only when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; otherwise the traces a service starts are not
recorded, but their spans still carry ids (for the logs and the next service).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

log = logging.getLogger(__name__)

# Probes run every few seconds; their spans would drown real traffic.
HEALTH_PATHS = "healthz,readyz,metrics"


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    exporting: bool = False  # spans and metrics leave the process

    def shutdown(self) -> None:
        for provider in (self.tracer_provider, self.meter_provider):
            try:
                provider.shutdown()
            except Exception:  # exporter unreachable at shutdown: nothing left to do
                log.warning("telemetry shutdown failed", exc_info=True)


_current: Telemetry | None = None


def setup_telemetry(service_name: str, endpoint: str | None = None) -> Telemetry:
    """Install global tracer and meter providers once per process."""
    global _current
    if _current is not None:
        return _current
    os.environ.setdefault("OTEL_SERVICE_NAME", service_name)
    resource = Resource.create({SERVICE_NAME: os.environ["OTEL_SERVICE_NAME"]})
    endpoint = endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")

    sampler = None  # the SDK's default: OTEL_TRACES_SAMPLER, else parent-based always-on
    if not endpoint and "OTEL_TRACES_SAMPLER" not in os.environ:
        # Nothing here exports spans: traces this service starts are not recorded (pure
        # cost), yet their spans carry ids for the logs. A trace a caller started and
        # sampled is still followed, so the services after this one can record it.
        sampler = ParentBased(ALWAYS_OFF)
    tracer_provider = TracerProvider(resource=resource, sampler=sampler)
    readers = []
    if endpoint:
        # Imported lazily: the exporter pulls in protobuf, which a test run without a
        # collector does not need.
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = endpoint.rstrip("/")
        tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
        )
        readers.append(
            PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{base}/v1/metrics"))
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)

    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.logging import LoggingInstrumentor

    HTTPXClientInstrumentor().instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    LoggingInstrumentor().instrument(set_logging_format=False)
    try:  # the worker calls model providers with aiohttp
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    except ImportError:
        pass
    else:
        AioHttpClientInstrumentor().instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        )
    _current = Telemetry(tracer_provider, meter_provider, exporting=bool(endpoint))
    return _current


def instrument_fastapi(app: object, telemetry: Telemetry) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,  # type: ignore[arg-type]
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        excluded_urls=HEALTH_PATHS,
    )


def instrument_sqlalchemy(engine: object, telemetry: Telemetry) -> None:
    """Database spans, when they are exported. (Unlike HTTP and messaging, a database
    call carries no trace context onward, so without an exporter it needs no span.)"""
    if not telemetry.exporting:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    sync_engine = getattr(engine, "sync_engine", engine)
    SQLAlchemyInstrumentor().instrument(
        engine=sync_engine,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        enable_commenter=False,
    )
