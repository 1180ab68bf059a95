"""One connected trace across the services, through RabbitMQ, as the OpenTelemetry demo
asserts its service edges: gateway -> translation-service -> (RabbitMQ) -> worker-service
-> (RabbitMQ) -> translation-service."""

from __future__ import annotations

import asyncio
import os

from opentelemetry import context, propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from .conftest import submit, wait_for_job


def edges(spans) -> set[tuple[str, str]]:
    by_id = {s.span_id: s for s in spans}
    return {
        (by_id[s.parent_span_id].service, s.service)
        for s in spans
        if s.parent_span_id in by_id and by_id[s.parent_span_id].service != s.service
    }


async def test_one_trace_connects_every_hop(gateway, dev_token, otlp_receiver):
    trace_id = os.urandom(16).hex()
    token = dev_token("tracer")
    # The client starts the trace. If this test process has httpx instrumented (other
    # tests run services in process), its client span becomes a child of this context
    # and keeps the trace id; otherwise the header below carries it.
    parent = SpanContext(
        int(trace_id, 16),
        int.from_bytes(os.urandom(8), "big"),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    ctx = trace.set_span_in_context(NonRecordingSpan(parent))
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    gateway.headers.update(carrier)
    token_ctx = context.attach(ctx)
    try:
        job = await submit(gateway, token, "traced.txt", b"Gregor woke.\n\nThe room was quiet.")
    finally:
        context.detach(token_ctx)
        for key in carrier:
            del gateway.headers[key]
    done = await wait_for_job(gateway, token, job["id"])
    assert done["status"] == "COMPLETED"

    expected = {
        ("gateway", "translation-service"),
        ("translation-service", "worker-service"),
        ("worker-service", "translation-service"),
    }
    for _ in range(50):  # spans arrive in batches
        spans = otlp_receiver.trace(trace_id)
        if expected <= edges(spans):
            break
        await asyncio.sleep(0.2)
    spans = otlp_receiver.trace(trace_id)
    assert expected <= edges(spans), sorted(edges(spans))
    # The hops through RabbitMQ are producer -> consumer spans, not guesses.
    consumers = [s for s in spans if s.kind == 5]  # SPAN_KIND_CONSUMER
    assert {s.service for s in consumers} >= {"worker-service", "translation-service"}
    assert any(s.attributes.get("messaging.system") == "rabbitmq" for s in consumers)
    # Database work is traced too, inside the services that own the schemas.
    database_spans = [s for s in spans if s.attributes.get("db.system") == "postgresql"]
    assert {s.service for s in database_spans} >= {"translation-service"}
