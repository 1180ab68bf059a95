"""A job's estimate counts the thinking tokens its model will spend (Gemini 2.5 budgets,
3.x levels), through the worker's real planning path."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from folio.contracts import JobPlanned, JobPlanningPaused, PlanJob
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

BOOK = (
    "One morning, when Gregor Samsa woke from troubled dreams, he found himself transformed "
    "in his bed into a horrible vermin.\n\n"
) * 20


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


async def translation_output(tmp_path: Path, documents: DocumentProcessor, model: str) -> int:
    settings = WorkerSettings(
        storage_dir=tmp_path,
        llm_provider="gemini",
        llm_base_url="http://127.0.0.1:9",  # turbo planning makes no call
        llm_api_key=SecretStr("k"),
    )
    storage = LocalStorage(tmp_path)
    blob = await storage.put_bytes("uploads", BOOK.encode(), name="book.txt")
    http = AiohttpTransport(timeout_s=5)
    publisher = RecordingPublisher()
    try:
        clients = ClientFactory(settings, http, InProcessRateLimiter(), MemoryCache())
        worker = Planner(WorkerDeps(settings, storage, publisher, clients, documents))  # type: ignore[arg-type]
        command = PlanJob(
            job_id=1,
            upload_key=blob.key,
            filename="book.txt",
            segment_size=2000,
            target_language="ko",
            model=model,
            mode="turbo",
        )
        await worker.plan_job(command, Delivery(Envelope.wrap(command, producer="t"), None, 0))
    finally:
        await http.aclose()
    (event,) = publisher.published
    assert isinstance(event, JobPlanned)
    return event.estimate.translation.output_tokens


async def test_thinking_is_part_of_the_output_estimate(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    off = await translation_output(tmp_path / "a", documents, "gemini-2.5-flash")
    low = await translation_output(tmp_path / "b", documents, "gemini-3-flash-preview")
    pro = await translation_output(tmp_path / "c", documents, "gemini-2.5-pro")
    assert off > 0
    assert low == pytest.approx(off * 1.25, rel=0.05)  # thinkingLevel low: a quarter more
    assert pro > off  # 2.5 Pro always thinks (at least its 128-token budget per call)


async def test_an_analysis_the_cap_does_not_cover_pauses_naming_the_cap(
    tmp_path: Path, documents: DocumentProcessor
) -> None:
    settings = WorkerSettings(
        storage_dir=tmp_path,
        llm_provider="gemini",
        llm_base_url="http://127.0.0.1:9",  # refused before any call
        llm_api_key=SecretStr("k"),
    )
    storage = LocalStorage(tmp_path)
    blob = await storage.put_bytes("uploads", BOOK.encode(), name="book.txt")
    http = AiohttpTransport(timeout_s=5)
    publisher = RecordingPublisher()
    try:
        clients = ClientFactory(settings, http, InProcessRateLimiter(), MemoryCache())
        worker = Planner(WorkerDeps(settings, storage, publisher, clients, documents))  # type: ignore[arg-type]
        command = PlanJob(
            job_id=2,
            upload_key=blob.key,
            filename="book.txt",
            segment_size=2000,
            target_language="ko",
            model="gemini-2.5-flash",
            max_tokens=50,
        )
        await worker.plan_job(command, Delivery(Envelope.wrap(command, producer="t"), None, 0))
    finally:
        await http.aclose()
    (event,) = publisher.published
    assert isinstance(event, JobPlanningPaused)
    assert event.max_tokens == 50  # the cap it was refused under, as SegmentPaused says it
    assert "spending cap is 50" in event.reason
