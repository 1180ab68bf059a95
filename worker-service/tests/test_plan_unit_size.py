"""Through the worker's real planning path, a job's units are sized for the book and the
key's concurrency, and the estimate says how large they are and why."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from folio.contracts import JobPlanned, PlanJob
from folio.messaging import Delivery, Envelope
from folio.storage import LocalStorage
from folio_worker.clients import ClientFactory
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import MemoryCache
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.llm import InProcessRateLimiter
from folio_worker.llm.transport import AiohttpTransport
from folio_worker.planning import Planner
from folio_worker.settings import WorkerSettings

PARAGRAPH = (
    "One morning, when Gregor Samsa woke from troubled dreams, he found himself transformed "
    "in his bed into a horrible vermin. He lay on his armour-like back and saw his belly. "
) * 4
BOOK = "\n\n".join([PARAGRAPH] * 180)  # about 120,000 characters


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list = []

    async def publish(self, message, *, message_id=None, correlation_id=None):  # type: ignore[no-untyped-def]
        self.published.append(message)


@pytest.fixture
async def documents():  # type: ignore[no-untyped-def]
    processor = DocumentProcessor(memory_limit_mb=1024, timeout_s=60)
    await processor.start()
    yield processor
    await processor.stop()


async def plan(tmp_path: Path, documents: DocumentProcessor, **settings) -> JobPlanned:  # type: ignore[no-untyped-def]
    config = WorkerSettings(
        storage_dir=tmp_path,
        llm_base_url="http://127.0.0.1:9",  # turbo planning makes no call
        llm_api_key=SecretStr("k"),
        **settings,
    )
    storage = LocalStorage(tmp_path)
    blob = await storage.put_bytes("uploads", BOOK.encode(), name="book.txt")
    http = AiohttpTransport(timeout_s=5)
    publisher = RecordingPublisher()
    try:
        clients = ClientFactory(config, http, InProcessRateLimiter(), MemoryCache())
        planner = Planner(WorkerDeps(config, storage, publisher, clients, documents))  # type: ignore[arg-type]
        command = PlanJob(
            job_id=1,
            upload_key=blob.key,
            filename="book.txt",
            segment_size=15_000,
            target_language="ko",
            model="gpt-4o-mini",
            mode="turbo",
        )
        await planner.plan_job(command, Delivery(Envelope.wrap(command, producer="t"), None, 0))
    finally:
        await http.aclose()
    (event,) = publisher.published
    assert isinstance(event, JobPlanned)
    return event


async def test_units_follow_the_keys_concurrency_and_the_estimate_says_why(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    wide = await plan(tmp_path / "wide", documents, llm_max_concurrency_per_key=64)
    narrow = await plan(tmp_path / "narrow", documents, llm_max_concurrency_per_key=8)
    assert wide.estimate.plan is not None and narrow.estimate.plan is not None
    wide_units = sum(s.unit_count for s in wide.segments)
    narrow_units = sum(s.unit_count for s in narrow.segments)
    # A wide key: one wave of units, all at once.
    assert wide.estimate.plan.unit_reason == "one_wave"
    assert 40 <= wide_units <= 64
    # A narrow key: the book takes several waves whatever the size, so fewer, larger
    # units (fewer repetitions of the prompt prefix), up to the quality ceiling.
    assert narrow.estimate.plan.unit_reason == "quality_ceiling"
    assert narrow.estimate.plan.unit_size > wide.estimate.plan.unit_size
    assert narrow_units < wide_units
    assert wide.estimate.plan.prefix_tokens > 0
    # The estimate of the translation follows the calls the plan makes.
    assert narrow.estimate.translation.calls == narrow_units
    assert narrow.estimate.translation.input_tokens < wide.estimate.translation.input_tokens


async def test_the_operators_unit_size_overrides_the_plans(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    fixed = await plan(tmp_path, documents, unit_size=1_000)
    assert fixed.estimate.plan is not None
    assert (fixed.estimate.plan.unit_size, fixed.estimate.plan.unit_reason) == (1_000, "operator")
    assert sum(s.unit_count for s in fixed.segments) >= 120
