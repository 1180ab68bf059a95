"""What the API accepts and returns (kept apart from the tables on purpose).

The job shapes carry the upstream ``TranslationJob`` field names (the existing frontend reads
them) plus Folio's own (phase, usage, estimate...). Three views of a job:

* :class:`JobPublic` — the owner's (or an admin's) full view;
* :class:`JobSummary` — a row of ``GET /jobs``: the upstream's list shape, heavy fields null;
* :class:`JobStatusView` — what an anonymous poll of ``GET /jobs/{id}`` gets: state and
  progress only (no file name, no content, no glossary).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts import Character, GlossaryEntry
from folio_translation.models import Job


class TokenUsagePublic(BaseModel):
    calls: int
    input_tokens: int
    output_tokens: int
    thinking_tokens: int
    # Part of input_tokens the provider served from its prompt cache.
    cached_input_tokens: int = 0
    # Part of the tokens above that is Folio's estimate, not the provider's figure: calls
    # whose answer never arrived (a worker killed mid-call), counted at what they reserved.
    estimated_tokens: int = 0


class TranslatedTerm(BaseModel):
    source: str
    korean: str  # the upstream's name for the translation, whatever the target language


class TranslatedTerms(BaseModel):
    translations: list[TranslatedTerm] = Field(default_factory=list)


def _values(job: Job | Mapping[str, Any]) -> dict[str, Any]:
    return dict(job) if isinstance(job, Mapping) else job.model_dump()


def glossary_pairs(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    context = values.get("context") or {}
    return [(g["term"], g["translation"]) for g in context.get("glossary") or []]


class _PhaseFields(BaseModel):
    """The upstream's chained-phase fields (validation, post-edit, illustrations).

    Served by the validation, post-edit and illustrations issue; until then they report
    what the upload asked for and that nothing has run ("not started")."""

    validation_enabled: bool = False
    validation_status: str | None = None
    validation_progress: int = 0
    validation_sample_rate: int = 100
    quick_validation: bool = False
    validation_completed_at: datetime | None = None
    post_edit_enabled: bool = False
    post_edit_status: str | None = None
    post_edit_progress: int = 0
    post_edit_completed_at: datetime | None = None
    illustrations_enabled: bool = False
    illustrations_status: str | None = None
    illustrations_progress: int = 0
    illustrations_count: int = 0


class JobStatusView(_PhaseFields):
    """An anonymous poll's answer: enough to draw a progress bar, nothing of the book."""

    id: int
    status: str
    phase: str
    progress: int
    error_message: str | None
    status_detail: str | None
    total_segments: int | None
    translated_segments: int
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, job: Job | Mapping[str, Any]) -> Self:
        return cls.model_validate(_values(job))


class JobSummary(JobStatusView):
    """A row of ``GET /jobs``: the upstream's ``TranslationJob`` keys, heavy ones null."""

    filename: str
    segment_size: int
    target_language: str
    source_language: str | None
    mode: str
    model: str
    max_tokens: int | None
    bilingual: bool
    owner_id: str
    validation_report_path: None = None
    post_edit_log_path: None = None
    illustrations_data: list[dict[str, Any]] = Field(default_factory=list)
    character_profile: dict[str, Any] | None = None
    character_base_images: list[dict[str, Any]] | None = None
    character_base_selected_index: int | None = None
    character_base_directory: None = None
    final_glossary: dict[str, str] | None = None
    structured_glossary: TranslatedTerms | None = None
    usage: TokenUsagePublic
    outputs: list[str] = Field(default_factory=list)
    # Segments with units that could not be translated (Folio's own): the book completed
    # with them marked; re-run them with ``POST /jobs/{id}/segments/retranslate``.
    failed_segments: list[int] = Field(default_factory=list)
    failed_units: int = 0  # units marked in all (a segment may keep several)

    @classmethod
    def of(cls, job: Job | Mapping[str, Any]) -> Self:
        values = _values(job)
        return cls.model_validate(
            {
                **values,
                "usage": TokenUsagePublic(
                    calls=values["llm_calls"],
                    input_tokens=values["input_tokens"],
                    output_tokens=values["output_tokens"],
                    thinking_tokens=values["thinking_tokens"],
                    cached_input_tokens=values.get("cached_input_tokens") or 0,
                    estimated_tokens=values.get("estimated_tokens") or 0,
                ),
                "outputs": sorted(values.get("outputs") or {}),
            }
        )


class UnitFailurePublic(BaseModel):
    """A unit kept in the source language (marked in every output): its place in the
    segment, the check or provider verdict that failed last, why, after how many answers."""

    unit: int
    check: str
    reason: str
    attempts: int


class SegmentFailurePublic(BaseModel):
    segment_index: int
    chapter_index: int | None = None
    chapter_title: str | None = None
    units: list[UnitFailurePublic]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Self:
        return cls(
            segment_index=row["index"],
            chapter_index=row["chapter_index"],
            chapter_title=row["chapter_title"],
            units=[UnitFailurePublic.model_validate(f) for f in row["failures"] or []],
        )


class JobPublic(JobSummary):
    """The owner's view: every field, the glossary included."""

    estimate: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    glossary_mode: str = "seed"
    # Each marked segment's units: which check failed, why, after how many answers.
    segment_failures: list[SegmentFailurePublic] = Field(default_factory=list)
    # What the analysis could not do (a part of the book, a glossary batch), in words.
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def of(
        cls, job: Job | Mapping[str, Any], failures: list[Mapping[str, Any]] | None = None
    ) -> Self:
        view = super().of(job)
        values = _values(job)
        update: dict[str, Any] = {}
        if failures is not None:
            update["segment_failures"] = [SegmentFailurePublic.of(f) for f in failures]
            update["failed_segments"] = [f["index"] for f in failures]
            update["failed_units"] = sum(len(f["failures"] or []) for f in failures)
        if "context" in values:  # read without the context (progress streams): no glossary
            pairs = glossary_pairs(values)
            update["warnings"] = list((values.get("context") or {}).get("warnings") or [])
            update["final_glossary"] = dict(pairs)
            update["structured_glossary"] = TranslatedTerms(
                translations=[TranslatedTerm(source=s, korean=t) for s, t in pairs]
            )
        return view.model_copy(update=update)


class ResumeRequest(BaseModel):
    """The upstream's ``ResumeRequest`` plus ``max_tokens``. Provider fields matter only
    with a key: then the job continues with that provider (checked like an upload's)."""

    model_config = ConfigDict(extra="ignore")

    api_key: str | None = Field(default=None, max_length=500)
    backup_api_keys: list[str] | None = Field(default=None, max_length=50)
    requests_per_minute: int | None = Field(default=None, ge=1, le=100_000)
    model_name: str | None = Field(default=None, max_length=200)
    translation_model_name: str | None = Field(default=None, max_length=200)
    style_model_name: str | None = Field(default=None, max_length=200)
    glossary_model_name: str | None = Field(default=None, max_length=200)
    thinking_level: str | None = Field(default=None, max_length=10)
    api_provider: str | None = Field(default=None, max_length=20)
    api_base_url: str | None = Field(default=None, max_length=500)
    provider_config: str | None = Field(default=None, max_length=50_000)
    turbo_mode: bool | None = None
    max_tokens: int | None = Field(default=None, ge=1)


class ChapterRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: int = Field(ge=0, le=1_000_000)
    last: int = Field(ge=0, le=1_000_000)


class RetranslateRequest(ResumeRequest):
    """Which segments of a completed job to translate again — exactly one of
    ``segment_indices``, ``filter: "failed"`` (those with marked units), ``check`` (those
    with a unit marked by that check) or ``chapters`` — plus, for a job on your own
    provider, its key again (the provider fields of ``ResumeRequest``)."""

    model_config = ConfigDict(extra="forbid")

    segment_indices: list[int] | None = Field(default=None, min_length=1, max_length=100_000)
    filter: Literal["failed"] | None = None
    check: str | None = Field(default=None, max_length=30)
    chapters: ChapterRange | None = None


class RetranslationPublic(BaseModel):
    job_id: int
    status: str
    segment_indices: list[int]


class SegmentPublic(BaseModel):
    segment_index: int
    source_text: str
    translated_text: str | None
    chapter_index: int | None = None
    chapter_title: str | None = None
    status: str
    # Units kept in the source language, marked in translated_text (Folio's own fields).
    failed: bool = False
    unit_failures: list[UnitFailurePublic] = Field(default_factory=list)
    # What the translation still lacks after the engine's retries.
    warnings: list[str] = Field(default_factory=list)


class SegmentsPage(BaseModel):
    """``GET /jobs/{id}/segments``: the upstream's keys and the ones its frontend reads."""

    job_id: int
    status: str
    filename: str
    completed_at: datetime | None
    segments: list[SegmentPublic]
    total: int
    total_segments: int
    offset: int
    limit: int
    has_more: bool
    message: str | None = None


class GlossaryTerm(BaseModel):
    term: str
    translation: str


class GlossaryResponse(BaseModel):
    """The upstream's ``GlossaryAnalysisResponse`` (structured glossary), plus every entry's
    kind, note, gender and do-not-translate flag, the do-not-translate list and the
    characters (gender, aliases, how they speak to whom): what an import reads back."""

    glossary: list[dict[str, str]]
    extracted_terms: None = None
    translated_terms: TranslatedTerms
    terms: list[GlossaryEntry] = []
    do_not_translate: list[str] = []
    characters: list[Character] = []


GlossaryMode = Literal["merge", "replace"]
