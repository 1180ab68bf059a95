"""What the worker's command handlers need (built once per process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from folio.contracts import SpendLimits
from folio.messaging import Publisher
from folio.storage import BlobStorage
from folio_worker.clients import ClientFactory
from folio_worker.control import JobControl
from folio_worker.engine.calls import CallCollector
from folio_worker.engine.isolation import DocumentProcessor
from folio_worker.engine.journal import UsageJournal
from folio_worker.engine.spend import CommandSpend, MemoryLedger, SpendLedger
from folio_worker.plans import PlanStore
from folio_worker.settings import WorkerSettings


@dataclass
class WorkerDeps:
    settings: WorkerSettings
    storage: BlobStorage
    publisher: Publisher
    clients: ClientFactory
    documents: DocumentProcessor
    control: JobControl = field(default_factory=JobControl)
    spend: SpendLedger = field(default_factory=MemoryLedger)
    journal: UsageJournal | None = None
    plans: PlanStore = field(init=False)

    def __post_init__(self) -> None:
        self.plans = PlanStore(self.storage)
        if self.journal is None:
            self.journal = UsageJournal(self.publisher)

    def collector(
        self, phase: str, job_id: int, limits: SpendLimits | None, segment_index: int | None = None
    ) -> CallCollector:
        """The calls of one command: checked against its limits, journaled as answered."""
        return CallCollector(
            phase=phase,
            job_id=job_id,
            segment_index=segment_index,
            spend=CommandSpend(self.spend, job_id, limits),
            journal=self.journal,
        )
