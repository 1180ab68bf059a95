"""What the worker's command handlers need (built once per process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from folio.messaging import Publisher
from folio.storage import BlobStorage
from folio_worker.clients import ClientFactory
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.plans import PlanStore
from folio_worker.settings import WorkerSettings


@dataclass
class WorkerDeps:
    settings: WorkerSettings
    storage: BlobStorage
    publisher: Publisher
    clients: ClientFactory
    documents: DocumentProcessor
    plans: PlanStore = field(init=False)

    def __post_init__(self) -> None:
        self.plans = PlanStore(self.storage)
