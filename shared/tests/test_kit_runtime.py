"""Service defaults: telemetry recorded only when exported; start-up objects frozen."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, os, sys
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from folio.telemetry import setup_telemetry
setup_telemetry("probe")
context = None
if "--sampled-parent" in sys.argv:  # a caller that started and sampled the trace
    parent = SpanContext(
        int.from_bytes(os.urandom(16), "big"), int.from_bytes(os.urandom(8), "big"),
        is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    context = trace.set_span_in_context(NonRecordingSpan(parent))
with trace.get_tracer("probe").start_as_current_span("work", context=context) as span:
    ids = span.get_span_context()
    print(json.dumps({"recording": span.is_recording(), "valid": ids.is_valid}))
"""


def run_probe(*args: str, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_an_exporter_spans_keep_ids_but_are_not_recorded() -> None:
    assert run_probe() == {"recording": False, "valid": True}


def test_without_an_exporter_a_callers_sampled_trace_is_still_followed() -> None:
    # Otherwise the services after this one could not record the caller's trace.
    assert run_probe("--sampled-parent") == {"recording": True, "valid": True}


def test_with_an_exporter_spans_are_recorded() -> None:
    # Nothing listens there; the batch processor only exports in the background.
    assert run_probe(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9") == {
        "recording": True,
        "valid": True,
    }


def test_an_explicit_sampler_setting_wins() -> None:
    assert run_probe(OTEL_TRACES_SAMPLER="always_on")["recording"] is True


RUNTIME_PROBE = """
import asyncio, gc
from folio.runtime import ServiceRuntime
from folio.settings import ServiceSettings

async def main():
    runtime = ServiceRuntime(ServiceSettings(service_name="probe"), use_broker=False)
    before = gc.get_freeze_count()
    await runtime.start()
    print(before, gc.get_freeze_count())
    await runtime.stop()

asyncio.run(main())
"""


def test_startup_objects_are_frozen_out_of_garbage_collection() -> None:
    # Full collections then walk only what the work allocates, not every module and class.
    result = subprocess.run(
        [sys.executable, "-c", RUNTIME_PROBE],
        env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, after = map(int, result.stdout.split()[-2:])
    assert before == 0 and after > 10_000


async def test_stopping_while_the_broker_connects_never_waits_for_an_uncancelled_relay(
    monkeypatch,
) -> None:
    """A broker connection that finishes while the service stops (its client library
    swallowing the cancellation) must not start the outbox relay after the tasks were
    cancelled: stop() would then await a relay nobody cancelled, for ever."""
    import asyncio

    from folio import runtime as runtime_module
    from folio.runtime import ServiceRuntime
    from folio.settings import ServiceSettings

    class SlowBroker:
        async def connect(self) -> None:
            return None

        async def start(self) -> None:
            try:
                await asyncio.sleep(0.5)
            except asyncio.CancelledError:
                pass  # as some client libraries do while they finish connecting

        async def stop(self) -> None:
            return None

    relay_runs: list[str] = []

    class ForeverRelay:
        async def run(self) -> None:
            relay_runs.append("started")
            await asyncio.Event().wait()

    async def no_topology(_broker) -> None:
        return None

    monkeypatch.setattr(runtime_module, "declare_topology", no_topology)
    service = ServiceRuntime(ServiceSettings(), use_broker=False)
    service.broker = SlowBroker()  # type: ignore[assignment]
    service.relay = ForeverRelay()  # type: ignore[assignment]
    await service.start(broker_wait_s=0)
    await asyncio.wait_for(service.stop(), timeout=10)
    assert relay_runs == []


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again() -> None:
    """The outbox relay, cancelled while a publish awaits its confirm, can lose the
    cancellation inside the client library and go on polling: stop() must still end."""
    import asyncio

    from folio.runtime import ServiceRuntime
    from folio.settings import ServiceSettings

    polls: list[int] = []

    async def relay_that_loses_one_cancellation() -> None:
        swallowed = False
        while True:
            try:
                await asyncio.sleep(0.05)  # a publish awaiting its confirm
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed = True  # the library swallowed it; the loop goes on
            polls.append(1)

    service = ServiceRuntime(ServiceSettings(), use_broker=False)
    await service.start()
    task = asyncio.create_task(relay_that_loses_one_cancellation(), name="outbox-relay")
    service._tasks.append(task)
    await asyncio.sleep(0.1)
    stopping = asyncio.create_task(service.stop())
    done, _ = await asyncio.wait({stopping}, timeout=10)  # not wait_for: it would cancel
    assert stopping in done, "stop() is still waiting for a task that ignored a cancel"
    assert task.cancelled() and polls
