"""The worker's real planning path, run on one book without a broker: what the planner
publishes for a ``PlanJob``. Planning tests call ``plan_book`` with their settings and
command; nothing here answers a model call (turbo planning makes none, and a cap refuses
before any) unless the settings point ``llm_base_url`` at the fake model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from folio.contracts import PlanJob
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


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list = []

    async def publish(self, message, *, message_id=None, correlation_id=None):  # type: ignore[no-untyped-def]
        self.published.append(message)


async def plan_book(
    tmp_path: Path,
    documents: DocumentProcessor,
    book: str,
    *,
    command: dict[str, Any],
    **settings: Any,
) -> list:
    """Plan ``book`` (a .txt upload) with ``PlanJob(**command)`` and the worker's settings;
    returns what the planner published."""
    config = WorkerSettings(
        storage_dir=tmp_path,
        llm_api_key=SecretStr("k"),
        **{"llm_base_url": "http://127.0.0.1:9", **settings},  # by default nothing answers
    )
    storage = LocalStorage(tmp_path)
    blob = await storage.put_bytes("uploads", book.encode(), name="book.txt")
    http = AiohttpTransport(timeout_s=5)
    publisher = RecordingPublisher()
    try:
        clients = ClientFactory(config, http, InProcessRateLimiter(), MemoryCache())
        planner = Planner(WorkerDeps(config, storage, publisher, clients, documents))  # type: ignore[arg-type]
        job = PlanJob(upload_key=blob.key, filename="book.txt", **command)
        await planner.plan_job(job, Delivery(Envelope.wrap(job, producer="t"), None, 0))
    finally:
        await http.aclose()
    return publisher.published
