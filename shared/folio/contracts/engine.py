"""The job-wide context the engine builds before translating, and what it costs.

These shapes travel between the worker (which builds them) and translation-service (which
stores them and hands each segment its slice), so they live in the contracts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts.common import TokenUsage

# Bump when prompts or the translation procedure change: translations made by another
# version are not reused from the translation memory.
ENGINE_VERSION = "2026.12.1"

Formality = Literal["formal", "polite", "casual", "intimate", "unknown"]
Gender = Literal["male", "female", "nonbinary", "unknown"]
TranslationMode = Literal["default", "strict", "turbo"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class NarrativeStyle(_Frozen):
    """How the book is narrated; every segment's prompt carries it."""

    protagonist: str | None = None
    narration: str | None = None  # point of view and voice, e.g. "first person, confessional"
    formality: str | None = None  # the narration's register in the target language
    tone: list[str] = Field(default_factory=list)
    key_rule: str | None = None


class GlossaryEntry(_Frozen):
    term: str = Field(min_length=1, max_length=200)
    translation: str = Field(min_length=1, max_length=400)
    kind: str | None = None  # person, place, organization, object, concept, other
    source: Literal["user", "analysis"] = "analysis"
    note: str | None = Field(default=None, max_length=500)  # for the translator, in prompts
    gender: Gender | None = None
    do_not_translate: bool = False  # kept as written: the translation is the term


class SpeechStyle(_Frozen):
    listener: str
    formality: Formality = "unknown"
    note: str | None = None
    # From which chapter on this holds (None: from the start); a relationship that changes
    # over the book has one entry per change.
    from_chapter: int | None = None


class Character(_Frozen):
    name: str
    translation: str | None = None
    gender: Gender = "unknown"
    aliases: list[str] = Field(default_factory=list)
    speaks_to: list[SpeechStyle] = Field(default_factory=list)


class JobContext(_Frozen):
    style: NarrativeStyle = NarrativeStyle()
    glossary: list[GlossaryEntry] = Field(default_factory=list)
    characters: list[Character] = Field(default_factory=list)
    # One or two sentences per chapter (chapter index -> summary), from the analysis: what
    # a unit's prompt knows of the story around it.
    chapter_summaries: dict[int, str] = Field(default_factory=dict)
    # What the analysis could not do (a part of the book or a glossary batch that failed
    # even when asked again): shown on the job.
    warnings: list[str] = Field(default_factory=list)


class SegmentContext(_Frozen):
    """The part of the job context a segment needs (its terms, its characters...)."""

    glossary: list[GlossaryEntry] = Field(default_factory=list)
    characters: list[Character] = Field(default_factory=list)
    deviations: dict[int, str] = Field(default_factory=dict)  # unit index -> instruction
    previous_source: str = ""
    next_source: str = ""
    chapter_summary: str = ""  # the summary of the segment's chapter


class PhaseEstimate(_Frozen):
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class CallPlan(_Frozen):
    """How large the job's model calls are, and why: ``requests`` when the provider's
    requests-per-minute limit binds (fewer, larger calls), ``latency`` otherwise (more,
    smaller calls in parallel); ``predicted_s``: the predicted time of the whole job.
    ``unit_reason`` says what decided ``unit_size`` (see docs/engine.md: ``one_wave``,
    ``prompt_prefix``, ``quality_ceiling``, ``segment_size``, ``model_window``,
    ``model_output``, ``operator``, ``whole_segment``; empty in estimates made before it
    was recorded); ``prefix_tokens``: the estimated job-constant prompt prefix per call;
    ``terms_per_batch``: the size the glossary rendering batches got (the latency-bound plan
    fills the concurrency in one wave with them, 8 to 24 terms)."""

    bound: Literal["latency", "requests"] = "latency"
    requests_per_minute: int | None = None
    unit_size: int = 0
    unit_reason: str = ""
    prefix_tokens: int = 0
    analysis_chunk_size: int = 0
    terms_per_batch: int = 0
    calls: int = 0
    predicted_s: float = 0.0


class CostEstimate(_Frozen):
    """Calls and tokens per phase, known before translation starts."""

    analysis: PhaseEstimate = PhaseEstimate()  # what the analysis actually used
    translation: PhaseEstimate = PhaseEstimate()  # what translating should use
    plan: CallPlan | None = None  # the size of the calls, chosen for the provider's limits

    @property
    def total_tokens(self) -> int:
        return self.analysis.total_tokens + self.translation.total_tokens


class UnitPiece(_Frozen):
    block: int
    part: int
    parts: int


class PlannedUnit(_Frozen):
    index: int
    text: str
    pieces: list[UnitPiece]


class CallRecord(_Frozen):
    """One model call, as it is recorded for usage accounting."""

    phase: Literal["analysis", "translation", "validation", "post_edit"]
    model: str
    # Unique per HTTP attempt (set by the worker): usage is stored once per call id.
    call_id: str | None = Field(default=None, max_length=64)
    key_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    # Input tokens the provider served from its prompt cache (part of input_tokens).
    cached_input_tokens: int = 0
    latency_ms: float = 0.0
    outcome: str = "ok"
    cached: bool = False
    # The provider's answer was never seen (outcome "lost": the worker died while the call
    # was in flight): the tokens are the call's reservation, an upper bound of its bill.
    estimated: bool = False


def usage_of(calls: Iterable[CallRecord]) -> TokenUsage:
    """What these calls cost; answers served from a cache or memory cost nothing."""
    total = TokenUsage()
    for call in calls:
        if not call.cached:
            total = total + TokenUsage(
                calls=1,
                input_tokens=call.input_tokens,
                output_tokens=call.output_tokens,
                thinking_tokens=call.thinking_tokens,
                cached_input_tokens=call.cached_input_tokens,
                estimated_tokens=(
                    call.input_tokens + call.output_tokens + call.thinking_tokens
                    if call.estimated
                    else 0
                ),
            )
    return total


def fingerprint(payload: dict, *, model: str) -> str:
    """Identity of a piece of translation work: same inputs, model and engine -> same result."""
    canonical = json.dumps(
        {"payload": payload, "model": model, "engine": ENGINE_VERSION},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
