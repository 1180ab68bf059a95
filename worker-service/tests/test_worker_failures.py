"""What the worker answers when a command cannot succeed: a failure event with a clear
reason (so the job fails instead of waiting for ever), only once retries are exhausted."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from folio.contracts import (
    CallsRecorded,
    JobPlan,
    PlannedUnit,
    SegmentPlan,
    SegmentTranslationFailed,
    TranslateSegment,
    UnitPiece,
)
from folio.messaging import Delivery, Envelope
from folio.messaging.topology import DEFAULT_DELIVERY_LIMIT
from folio.storage import LocalStorage
from folio_worker.clients import ClientFactory, CredentialsUnavailable
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import MemoryCache
from folio_worker.engine.journal import UsageJournal
from folio_worker.llm import InProcessRateLimiter
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.settings import WorkerSettings
from folio_worker.translating import SegmentWorker


class RecordingPublisher:
    """Stands in for the broker: what the handler would publish."""

    def __init__(self) -> None:
        self.published: list = []

    async def publish(self, message, *, message_id=None, correlation_id=None):  # type: ignore[no-untyped-def]
        self.published.append(message)


class BrokenClients:
    """A model client factory that fails in a way nobody anticipated."""

    def caller(self, model: str, credentials: str | None, **_):  # type: ignore[no-untyped-def]
        raise RuntimeError("unexpected state, token=secret-value")


PLAN = SegmentPlan(
    units=[PlannedUnit(index=0, text="Gregor woke.", pieces=[UnitPiece(block=0, part=0, parts=1)])]
)


def delivery_of(message: TranslateSegment, count: int) -> Delivery:
    return Delivery(Envelope.wrap(message, producer="translation-service"), None, count)


@pytest.fixture
async def service(
    tmp_path: Path,
) -> tuple[SegmentWorker, RecordingPublisher, TranslateSegment]:
    publisher = RecordingPublisher()
    deps = WorkerDeps(
        WorkerSettings(storage_dir=tmp_path),
        LocalStorage(tmp_path),
        publisher,  # type: ignore[arg-type]
        BrokenClients(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # no document work in these tests
    )
    plan_key = await deps.plans.save(JobPlan(job_id=7, segments={2: PLAN}))
    command = TranslateSegment(
        job_id=7,
        segment_index=2,
        target_language="ko",
        model="m",
        plan_key=plan_key,
        digest=PLAN.digest(),
    )
    return SegmentWorker(deps), publisher, command


async def test_an_unexpected_error_is_retried_while_deliveries_remain(service) -> None:
    worker, publisher, command = service
    for count in range(DEFAULT_DELIVERY_LIMIT - 1):
        with pytest.raises(RuntimeError):
            await worker.translate_segment(command, delivery_of(command, count))
    assert publisher.published == []


async def test_the_last_delivery_fails_the_segment_with_a_reason(service) -> None:
    worker, publisher, command = service
    last = DEFAULT_DELIVERY_LIMIT - 1
    await worker.translate_segment(command, delivery_of(command, last))
    (event,) = publisher.published
    assert isinstance(event, SegmentTranslationFailed)
    assert (event.job_id, event.segment_index) == (7, 2)
    assert "internal error" in event.reason and "RuntimeError" in event.reason
    assert "secret-value" not in event.reason  # the error's text stays in the logs


async def test_a_misconfigured_deployment_provider_is_a_clear_failure() -> None:
    settings = WorkerSettings(llm_provider="vertex", llm_api_key=SecretStr("k"))
    http = AiohttpTransport(timeout_s=5)
    try:
        clients = ClientFactory(settings, http, InProcessRateLimiter(), MemoryCache())
        with pytest.raises(CredentialsUnavailable, match="misconfigured"):
            clients.caller("gemini-2.5-flash", None)
    finally:
        await http.aclose()


@pytest.fixture
async def fake_service(tmp_path: Path, fake_llm_url: str):  # type: ignore[no-untyped-def]
    settings = WorkerSettings(
        storage_dir=tmp_path,
        llm_provider="openai",
        llm_base_url=fake_llm_url + "/v1",
        llm_api_key=SecretStr(f"key-{tmp_path.name}"),
        llm_max_wait_s=5.0,
        llm_max_deferred_s=3600.0,
    )
    http = AiohttpTransport(timeout_s=10)
    publisher = RecordingPublisher()
    storage = LocalStorage(tmp_path)
    journal = UsageJournal(publisher)  # type: ignore[arg-type]  # kept in process, no Redis

    def replica() -> SegmentWorker:
        """A worker replica (its own key pool and limiter)."""
        clients = ClientFactory(settings, http, InProcessRateLimiter(), MemoryCache())
        deps = WorkerDeps(
            settings,
            storage,
            publisher,  # type: ignore[arg-type]
            clients,
            None,  # type: ignore[arg-type]
            journal=journal,
        )
        return SegmentWorker(deps)

    async def command(marker: str) -> TranslateSegment:
        text = f"Gregor woke early and looked out of the window. {marker}"
        unit = PlannedUnit(index=0, text=text, pieces=[UnitPiece(block=0, part=0, parts=1)])
        plan = SegmentPlan(units=[unit])
        key = await replica().deps.plans.save(JobPlan(job_id=8, segments={0: plan}))
        return TranslateSegment(
            job_id=8,
            segment_index=0,
            target_language="ko",
            model="gpt-4o-mini",
            plan_key=key,
            digest=plan.digest(),
        )

    yield replica, publisher, command
    await http.aclose()


async def test_a_long_retry_after_defers_the_segment_and_keeps_its_usage(fake_service) -> None:
    import uuid

    from folio.messaging import Defer

    replica, publisher, command = fake_service
    marker = f"[[fake:429:retry=900*1]] ({uuid.uuid4().hex[:8]})"
    segment = await command(marker)
    with pytest.raises(Defer) as deferred:
        await replica().translate_segment(segment, delivery_of(segment, 0))
    assert 899 <= deferred.value.delay_s <= 900
    assert publisher.published == []  # nothing decided: the command comes back later
    # The throttled call is in the usage journal already: nothing needs to travel with
    # the deferred copy (whose headers are bounded).
    assert deferred.value.carry == {}
    journal = replica().deps.journal
    await journal.stop()
    (reported,) = publisher.published
    assert isinstance(reported, CallsRecorded)
    assert (reported.job_id, reported.segment_index) == (8, 0)
    assert [c.outcome for c in reported.calls] == ["429"]
    publisher.published.clear()

    # It comes back (the delay queue's copy, to whichever replica), the provider answers
    # now: the result carries the new call (and the journal forgets it), so
    # translation-service counts each of the two calls once.
    again = Delivery(
        Envelope.wrap(segment, producer="translation-service"),
        None,
        0,
        deferrals=1,
        deferred_s=900.0,
        carried=deferred.value.carry,
    )
    await replica().translate_segment(segment, again)
    (event,) = publisher.published
    assert [c.outcome for c in event.calls] == ["ok"]
    assert event.translated_text
    await journal.stop()  # the result carried its call: nothing more to relay
    assert publisher.published == [event]
    ids = {reported.calls[0].call_id, event.calls[0].call_id}
    assert len(ids) == 2 and None not in ids


async def test_a_segment_deferred_past_its_budget_fails_with_the_reason(fake_service) -> None:
    replica, publisher, command = fake_service
    segment = await command("[[fake:429:retry=900]]")
    past = Delivery(Envelope.wrap(segment, producer="translation-service"), None, 0, 4, 3000.0, {})
    await replica().translate_segment(segment, past)
    (event,) = publisher.published
    assert isinstance(event, SegmentTranslationFailed)
    assert "kept this waiting" in event.reason and "0.8 hours" in event.reason
