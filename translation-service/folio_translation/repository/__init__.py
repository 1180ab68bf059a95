"""Every query of the translation schema, one module per table. No business rules, no commits."""

from folio_translation.repository.events import JobEventRepository
from folio_translation.repository.jobs import JobRepository
from folio_translation.repository.memory import MemoryRepository
from folio_translation.repository.segments import SegmentRepository
from folio_translation.repository.tasks import TaskRepository
from folio_translation.repository.usage import UsageRepository

__all__ = [
    "JobEventRepository",
    "JobRepository",
    "MemoryRepository",
    "SegmentRepository",
    "TaskRepository",
    "UsageRepository",
]
