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
    TranslationMode,
    usage_of,
)
from folio.contracts.spend import SpendLimits
from folio.contracts.tasks import TaskRun

WORKER_PLAN_QUEUE = "worker-service.plan"
WORKER_SEGMENT_QUEUE = "worker-service.segment"
WORKER_ASSEMBLE_QUEUE = "worker-service.assemble"


class PlannedSegment(BaseModel):
    """What translation-service keeps of a planned segment: the text users see, where it
    is in the book, and how to cite its part of the plan (units and context stay there)."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    source_text: str
    chapter_index: int | None = None
    chapter_title: str | None = None
    unit_count: int = Field(ge=1)
    estimated_tokens: int = 0
    # SegmentPlan.digest() of its units and context in the stored plan.
    digest: str = ""
    # Characters of its longest unit: answer time grows with answer length, so the
    # segments of one window are sent longest unit first (0: not known).
    longest_unit_chars: int = 0


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
    # The cap and daily allowance the worker checks before each of the command's calls.
    spend: SpendLimits | None = None
    # Whose finished work this job may reuse (response cache, translation memory): set by
    # translation-service per owner and provider, so nothing one user's provider produced
    # is served to another user. Opaque (a digest); "" only in messages sent before it.
    reuse_scope: str = ""


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
    # The model of the analysis pass (style, glossary, characters); the job's model if None.
    analysis_model: str | None = None


class TranslateSegment(_JobWork):
    """Translate one planned segment. Its units and context are in the stored plan
    (``plan_key``); ``digest`` names them, so a mismatching plan is refused."""

    TYPE: ClassVar[str] = "translation.translate_segment.v1"
    QUEUE: ClassVar[str] = WORKER_SEGMENT_QUEUE

    segment_index: int
    plan_key: str
    digest: str
    mode: TranslationMode = "default"
    style: NarrativeStyle = NarrativeStyle()
    previous_translation: str = ""  # strict continuity only
    fingerprint: str = ""
    # A glossary edited after planning (folio.contracts.glossary.JobGlossary): the worker
    # takes the segment's terms from it instead of the plan's slice.
    glossary_key: str | None = None
    glossary_digest: str | None = None
    # Asked again by its owner: earlier answers for its units are not reused (a unit that
    # failed has none; the others are translated afresh).
    refresh: bool = False


class AssembleJob(_JobWork):
    """Build the output files from the stored translations."""

    TYPE: ClassVar[str] = "translation.assemble_job.v1"
    QUEUE: ClassVar[str] = WORKER_ASSEMBLE_QUEUE

    upload_key: str
    filename: str
    translations_key: str  # the AssemblySnapshot (folio.contracts.assembly) to build from
    bilingual: bool = False
    document_fingerprint: str = ""
    colophon: bool = False  # record the machine translation (model, date) in the outputs
    vertical: bool = False  # CJK targets: EPUB written vertically


# ---- events (worker-service -> translation-service) ---------------------------------


class JobPlanned(Event):
    """The book is planned. v2: segments no longer carry their units and context (the
    stored plan, ``plan_key``, is their only home). v3: ``task``, the run that planned it
    (task monitoring)."""

    TYPE: ClassVar[str] = "translation.job.planned.v3"

    job_id: int
    source_language: str | None = None
    document: DocumentInfo | None = None
    context: JobContext = JobContext()
    segments: list[PlannedSegment]
    estimate: CostEstimate = CostEstimate()
    calls: list[CallRecord] = Field(default_factory=list)
    # The stored plan (folio.contracts.plan.JobPlan) that segment commands cite.
    plan_key: str
    task: TaskRun | None = None


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
    # The cap the analysis was refused under (None: the daily allowance refused it), as
    # ``SegmentPaused`` says it: a refusal under a cap raised since is out of date.
    max_tokens: int | None = Field(default=None, gt=0)


# What a UnitFailure's ``check`` may be: the answer checks, and the provider's verdicts.
UNIT_CHECKS = (
    "empty",
    "untranslated",
    "length",
    "paragraphs",
    "truncated",
    "safety",
    "bad_request",
)


class UnitFailure(BaseModel):
    """A unit of a segment that had no usable translation after its bounded retries: its
    place in the segment (0-based), why, after how many answers. Its entry in
    ``unit_translations`` is the source text marked as untranslated (``mark_untranslated``)."""

    model_config = ConfigDict(frozen=True)

    unit: int = Field(ge=0)
    # The answer check or provider verdict that failed last: "empty", "untranslated",
    # "length", "paragraphs", "truncated", "safety", "bad_request".
    check: str
    reason: str
    attempts: int = Field(default=0, ge=0)


class SegmentTranslated(Event):
    """A segment's translation; with ``unit_failures`` when some of its units could not be
    translated (the book completes with them marked, and they can be re-run). v2: ``task``,
    the run that translated it (task monitoring)."""

    TYPE: ClassVar[str] = "translation.segment.translated.v2"

    job_id: int
    segment_index: int
    translated_text: str
    unit_translations: list[str] = Field(default_factory=list)
    model: str
    calls: list[CallRecord] = Field(default_factory=list)
    fingerprint: str = ""
    unit_failures: list[UnitFailure] = Field(default_factory=list)
    # What the translation still lacks after its retries (a glossary rendering not used).
    warnings: list[str] = Field(default_factory=list)
    task: TaskRun | None = None

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
    """v2: ``task``, the run that assembled it (task monitoring)."""

    TYPE: ClassVar[str] = "translation.job.assembled.v2"

    job_id: int
    outputs: dict[str, str]  # output kind -> storage key
    task: TaskRun | None = None


class JobAssemblyFailed(Event):
    TYPE: ClassVar[str] = "translation.job.assembly_failed.v1"

    job_id: int
    reason: str
