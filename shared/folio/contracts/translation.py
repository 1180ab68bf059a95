"""Messages of the translation flow: translation-service <-> worker-service.

Credentials travel sealed (``credentials``: a Fernet token, see :mod:`folio.credentials`);
``None`` means "the deployment's default provider".
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts.base import Command, Event
from folio.contracts.common import TokenUsage
from folio.contracts.engine import (
    CallRecord,
    CostEstimate,
    GlossaryEntry,
    JobContext,
    NarrativeStyle,
    PlannedUnit,
    SegmentContext,
    TranslationMode,
    usage_of,
)

WORKER_PLAN_QUEUE = "worker-service.plan"
WORKER_SEGMENT_QUEUE = "worker-service.segment"
WORKER_ASSEMBLE_QUEUE = "worker-service.assemble"


class PlannedSegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    source_text: str
    chapter_index: int | None = None
    chapter_title: str | None = None
    units: list[PlannedUnit] = Field(default_factory=list)
    context: SegmentContext = SegmentContext()
    estimated_tokens: int = 0
    # Digest of the units and the context: what the segment's translation depends on, so
    # commands that refer to the stored plan still identify their work exactly.
    digest: str = ""


class DocumentInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    format: str
    title: str | None = None
    authors: list[str] = Field(default_factory=list)
    chapters: list[str | None] = Field(default_factory=list)
    characters: int = 0
    fingerprint: str = ""


class _JobWork(Command):
    """Fields every job command shares."""

    job_id: int
    target_language: str
    source_language: str | None = None
    model: str
    credentials: str | None = None


# ---- commands (translation-service -> worker-service) -------------------------------


class PlanJob(_JobWork):
    """Parse the uploaded book, segment it, analyse it, estimate it."""

    TYPE: ClassVar[str] = "translation.plan_job.v1"
    QUEUE: ClassVar[str] = WORKER_PLAN_QUEUE

    upload_key: str
    filename: str
    segment_size: int
    mode: TranslationMode = "default"
    style: NarrativeStyle | None = None
    glossary: list[GlossaryEntry] = Field(default_factory=list)
    glossary_mode: str = "seed"  # "seed": analysis adds terms, user entries win; "replace"
    max_tokens: int | None = None
    spent_tokens: int = 0


class TranslateSegment(_JobWork):
    """Translate one planned segment (its units) with its slice of the job context."""

    TYPE: ClassVar[str] = "translation.translate_segment.v1"
    QUEUE: ClassVar[str] = WORKER_SEGMENT_QUEUE

    segment_index: int
    mode: TranslationMode = "default"
    style: NarrativeStyle = NarrativeStyle()
    context: SegmentContext = SegmentContext()
    units: list[PlannedUnit] = Field(default_factory=list)
    previous_translation: str = ""  # strict continuity only
    fingerprint: str = ""
    # With a plan: the units and context are in the stored plan (``plan_key``) instead of
    # in the message, and ``digest`` names them (see PlannedSegment.digest).
    plan_key: str | None = None
    digest: str = ""


class AssembleJob(_JobWork):
    """Build the output files from the stored translations."""

    TYPE: ClassVar[str] = "translation.assemble_job.v1"
    QUEUE: ClassVar[str] = WORKER_ASSEMBLE_QUEUE

    upload_key: str
    filename: str
    translations_key: str  # storage key of the snapshot written by translation-service
    bilingual: bool = False
    document_fingerprint: str = ""


# ---- events (worker-service -> translation-service) ---------------------------------


class JobPlanned(Event):
    TYPE: ClassVar[str] = "translation.job.planned.v1"

    job_id: int
    source_language: str | None = None
    document: DocumentInfo | None = None
    context: JobContext = JobContext()
    segments: list[PlannedSegment]
    estimate: CostEstimate = CostEstimate()
    calls: list[CallRecord] = Field(default_factory=list)
    # The stored plan (each segment's units and context) that commands may refer to.
    plan_key: str | None = None


class JobPlanningFailed(Event):
    TYPE: ClassVar[str] = "translation.job.planning_failed.v1"

    job_id: int
    reason: str
    calls: list[CallRecord] = Field(default_factory=list)


class JobPlanningPaused(Event):
    """The spending cap does not cover the analysis: nothing was spent beyond the cap."""

    TYPE: ClassVar[str] = "translation.job.planning_paused.v1"

    job_id: int
    reason: str
    estimate: CostEstimate = CostEstimate()


class SegmentTranslated(Event):
    TYPE: ClassVar[str] = "translation.segment.translated.v1"

    job_id: int
    segment_index: int
    translated_text: str
    unit_translations: list[str] = Field(default_factory=list)
    model: str
    calls: list[CallRecord] = Field(default_factory=list)
    fingerprint: str = ""

    @property
    def usage(self) -> TokenUsage:
        return usage_of(self.calls)


class SegmentTranslationFailed(Event):
    TYPE: ClassVar[str] = "translation.segment.translation_failed.v1"

    job_id: int
    segment_index: int
    reason: str
    calls: list[CallRecord] = Field(default_factory=list)


class JobAssembled(Event):
    TYPE: ClassVar[str] = "translation.job.assembled.v1"

    job_id: int
    outputs: dict[str, str]  # output kind -> storage key


class JobAssemblyFailed(Event):
    TYPE: ClassVar[str] = "translation.job.assembly_failed.v1"

    job_id: int
    reason: str
