"""Each segment's part of the plan: its units, its slice of the job context and what
translating it should cost (from the real prompts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from folio.contracts import (
    JobContext,
    PhaseEstimate,
    PlanJob,
    PlannedSegment,
    PlannedUnit,
    SegmentContext,
    SegmentPlan,
    UnitPiece,
)
from folio_worker.engine import estimate
from folio_worker.engine.context import (
    TextIndex,
    characters_for,
    glossary_for,
    head,
    speech_at,
    tail,
)
from folio_worker.engine.documents import Document
from folio_worker.engine.documents.placeholders import strip
from folio_worker.engine.segmentation import Segment, Unit
from folio_worker.engine.translator import PREVIOUS_TRANSLATION, build_prompt, unit_requests
from folio_worker.engine.work import SegmentWork

SEGMENT_NEIGHBOUR = 600  # characters of source before and after a segment


class PlanIndexes:
    """Word indexes of every segment of a plan, built once: for the segments' contexts.
    ``prepare`` builds them (and learns where the given
    terms occur) ahead of time, in a thread, while the model renders the glossary."""

    def __init__(self, segments: Sequence[Segment], *, inflecting: bool = False) -> None:
        self._segments = segments
        self._inflecting = inflecting
        self._by_segment: dict[int, TextIndex] = {}

    def segment(self, i: int) -> TextIndex:
        index = self._by_segment.get(i)
        if index is None:
            index = self._by_segment[i] = TextIndex(
                self._segments[i].text, inflecting=self._inflecting
            )
        return index

    def prepare(self, terms: list[str]) -> None:
        for i in range(len(self._segments)):
            # Hand the interpreter back often: the event loop must not wait for this
            # thread to send the model's requests or read its answers.
            time.sleep(0)
            index = self.segment(i)
            for term in terms:
                index.contains(term)


@dataclass(frozen=True)
class PreparedPrompts:
    """A segment's first prompts (one per unit, by unit index), as the estimate built them,
    and the work they were built for: translating the same work can send them as they are."""

    work: SegmentWork
    by_unit: dict[int, str]


@dataclass(frozen=True)
class SegmentPlans:
    plans: dict[int, SegmentPlan]  # what the stored plan holds
    segments: list[PlannedSegment]  # what translation-service keeps
    estimate: PhaseEstimate  # of translating them all
    # The default and turbo modes' prompts by segment (strict mode's carry the translation
    # before them, unknown until then).
    prompts: dict[int, PreparedPrompts] = field(default_factory=dict)


def build_segment_plans(
    command: PlanJob,
    document: Document,
    segments: Sequence[Segment],
    context: JobContext,
    deviations: dict[int, str],
    source_language: str | None,
    indexes: PlanIndexes,
    thinking: Callable[[int], int] = lambda _: 0,
) -> SegmentPlans:
    total = PhaseEstimate()
    plans: dict[int, SegmentPlan] = {}
    planned: list[PlannedSegment] = []
    prompts: dict[int, PreparedPrompts] = {}
    for i, segment in enumerate(segments):
        text = segment.text
        index = indexes.segment(i)
        plan = SegmentPlan(
            units=[_planned_unit(u) for u in segment.units],
            context=SegmentContext(
                glossary=glossary_for(text, context.glossary, index),
                characters=[
                    speech_at(c, segment.chapter)
                    for c in characters_for(text, context.characters, index)
                ],
                deviations={
                    u.index: deviations[u.index] for u in segment.units if u.index in deviations
                },
                previous_source=tail(segments[i - 1].text, SEGMENT_NEIGHBOUR) if i > 0 else "",
                next_source=head(segments[i + 1].text, SEGMENT_NEIGHBOUR)
                if i + 1 < len(segments)
                else "",
                chapter_summary=context.chapter_summaries.get(segment.chapter, ""),
            ),
        )
        cost, prepared = _translation_cost(command, plan, context, source_language, thinking)
        if command.mode != "strict":
            prompts[i] = prepared
        total = estimate.add(total, cost)
        chapter = (
            document.chapters[segment.chapter] if segment.chapter < len(document.chapters) else None
        )
        plans[i] = plan
        planned.append(
            PlannedSegment(
                index=i,
                source_text=strip(text),  # what readers see: no placeholder tags
                chapter_index=segment.chapter,
                chapter_title=chapter.title if chapter else None,
                unit_count=len(plan.units),
                estimated_tokens=cost.total_tokens,
                digest=plan.digest(),
                longest_unit_chars=max(len(u.text) for u in plan.units),
            )
        )
    return SegmentPlans(plans, planned, total, prompts)


def _translation_cost(
    command: PlanJob,
    plan: SegmentPlan,
    context: JobContext,
    source_language: str | None,
    thinking: Callable[[int], int],
) -> tuple[PhaseEstimate, PreparedPrompts]:
    """The estimate of the segment's real prompts (strict mode adds the chained text), and
    the prompts."""
    work = SegmentWork(
        target_language=command.target_language,
        source_language=source_language,
        mode=command.mode,
        style=context.style,
        units=plan.units,
        context=plan.context,
        book_glossary=list(context.glossary),
        book_characters=list(context.characters),
    )
    cost = PhaseEstimate()
    prompts: dict[int, str] = {}
    for request in unit_requests(work):
        prompt = prompts[request.unit.index] = build_prompt(work, request, request.unit.text)
        if command.mode == "strict":
            prompt += "x" * PREVIOUS_TRANSLATION * 3  # the chained translation's bytes
        call = estimate.translation_call(prompt, request.unit.text, command.target_language)
        # the model's thinking is billed as output
        call = call.model_copy(
            update={"output_tokens": call.output_tokens + thinking(call.output_tokens)}
        )
        cost = estimate.add(cost, call)
    return cost, PreparedPrompts(work, prompts)


def _planned_unit(unit: Unit) -> PlannedUnit:
    return PlannedUnit(
        index=unit.index,
        text=unit.text,
        pieces=[UnitPiece(block=p.block, part=p.part, parts=p.parts) for p in unit.pieces],
    )
