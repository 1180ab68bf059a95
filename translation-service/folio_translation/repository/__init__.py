"""Every query of the translation schema, one module per table. No business rules, no commits."""

from folio_translation.repository.jobs import JobRepository
from folio_translation.repository.memory import MemoryRepository
from folio_translation.repository.segments import SegmentRepository
from folio_translation.repository.usage import UsageRepository

__all__ = ["JobRepository", "MemoryRepository", "SegmentRepository", "UsageRepository"]
