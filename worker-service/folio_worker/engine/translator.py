"""Translating one segment: its units, concurrently (or in order, for strict continuity).

Each unit's prompt carries the job style, the unit's style deviation, the glossary terms
and characters that occur in it, and the neighbouring source text. Every answer is
checked; a failed check is retried (bounded); a truncated answer splits the unit; a
safety block is answered by reframing the instructions, never by changing the source.

A unit that still has no usable answer after all that is kept in the source language,
marked (``folio.contracts.mark_untranslated``) and reported as a ``UnitFailure``: one bad
passage never fails its segment or the book. Failures of the provider itself (every key
refused, transient errors outlasting the attempts, a long wait) are not the passage's
fault and still fail the segment, which can be resumed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from folio.contracts import GlossaryEntry, PlannedUnit, UnitFailure, mark_untranslated
from folio_worker.engine import progress
from folio_worker.engine.calls import ModelCaller, longest_first
from folio_worker.engine.checks import (
    CheckFailure,
    check_answer,
    missing_numbers,
    split_paragraphs,
)
from folio_worker.engine.context import (
    characters_for,
    glossary_for,
    head,
    inflects,
    occurs,
    tail,
    unit_index,
)
from folio_worker.engine.documents import placeholders
from folio_worker.engine.languages import word_joiner
from folio_worker.engine.paragraphs import aligned, numbered, strip_ids
from folio_worker.engine.prompts import SAFETY_FRAMES, translation_prompt
from folio_worker.engine.segmentation import split_sentences
from folio_worker.engine.sizing import neighbour_sizes
from folio_worker.engine.work import SegmentWork
from folio_worker.llm import LLMBadRequest, SafetyBlocked

log = logging.getLogger(__name__)

PREVIOUS_TRANSLATION = 800
MAX_SPLIT_DEPTH = 4
# Failures an answer may still have on the last attempt: the text is there, its shape is
# off (better than failing the book).


class UnitFailed(Exception):
    def __init__(self, unit: int, reason: str, check: str = "untranslated") -> None:
        super().__init__(f"unit {unit}: {reason}")
        self.unit = unit
        self.reason = reason
        self.check = check


@dataclass(frozen=True)
class SegmentResult:
    """One entry per unit (a failed unit's entry is its marked source) and the failures."""

    translations: list[str]
    failures: list[UnitFailure]


@dataclass(frozen=True)
class UnitRequest:
    unit: PlannedUnit
    previous_source: str
    next_source: str
    previous_translation: str
    deviation: str | None


def unit_requests(command: SegmentWork) -> list[UnitRequest]:
    units = command.units
    requests = []
    # The neighbouring source grows and shrinks with the units (so with the model's window).
    before_chars, after_chars = neighbour_sizes(max((len(u.text) for u in units), default=0))
    for i, unit in enumerate(units):
        before = units[i - 1].text if i > 0 else command.context.previous_source
        after = units[i + 1].text if i + 1 < len(units) else command.context.next_source
        requests.append(
            UnitRequest(
                unit=unit,
                previous_source=tail(before, before_chars),
                next_source=head(after, after_chars),
                previous_translation="",
                deviation=command.context.deviations.get(unit.index),
            )
        )
    return requests


def build_prompt(
    command: SegmentWork,
    request: UnitRequest,
    text: str,
    frame: int = 0,
) -> str:
    turbo = command.mode == "turbo"
    paragraphs = split_paragraphs(text) or [text]
    changing = set() if turbo else command.changing_speech
    return translation_prompt(
        prefix=command.prefix,
        source_text=numbered(paragraphs),
        paragraphs=len(paragraphs),
        target_language=command.target_language,
        # The glossary and characters are the book's, in the prefix; only where a
        # character's speech changed by this chapter is it said again, with the call.
        chapter_characters=characters_for(
            text,
            [c for c in command.context.characters if c.name in changing],
            unit_index(text, inflects(command.source_language)),
        )
        if changing
        else [],
        deviation=None if turbo else request.deviation,
        previous_source=request.previous_source,
        next_source=request.next_source,
        previous_translation=request.previous_translation,
        frame=frame,
        chapter_summary="" if turbo else command.context.chapter_summary,
    )


def missing_renderings(command: SegmentWork, text: str, answer: str) -> list[GlossaryEntry]:
    """The glossary entries whose term occurs in ``text`` but whose rendering is not in the
    answer (renderings are matched by stem in a target that inflects names)."""
    index = unit_index(text, inflects(command.source_language))
    inflecting = inflects(command.target_language)
    return [
        entry
        for entry in glossary_for(text, command.context.glossary, index)
        if entry.translation.strip()
        and entry.translation not in answer
        and not occurs(entry.translation, answer, inflecting=inflecting)
    ]


def glossary_reminder(prompt: str, missing: list[GlossaryEntry]) -> str:
    """The prompt with a note on the renderings an earlier answer left out (just before
    the source, so the job-constant prefix of the prompt is unchanged)."""
    lines = "\n".join(f"- {g.term} => {g.translation}" for g in missing)
    note = (
        "\nAn earlier translation of this passage did not use these glossary renderings; "
        f"use exactly them:\n{lines}\n"
    )
    at = prompt.rfind("\n<source>")
    return prompt[:at] + note + prompt[at:] if at >= 0 else prompt + note


class SegmentTranslator:
    def __init__(
        self,
        caller: ModelCaller,
        *,
        attempts: int = 3,
        concurrency: int = 16,
        planned: dict[int, str] | None = None,
    ) -> None:
        self.caller = caller
        self.attempts = max(1, attempts)
        self.concurrency = max(1, concurrency)
        self._prompts: dict[tuple[int, str, int], str] = {}
        # The first prompt of each unit (by index) as the planner built it for this work
        # (``PlanStore.prompts``); strict mode's chained prompts are never among them.
        self._planned = planned or {}
        self._asked: dict[int, int] = {}  # answers asked per unit, for its failure report
        # What the segment's translation still lacks after the retries, per unit: shown
        # with the segment ("unit 3: 'Haruka' is not rendered as 'ハルカ'").
        self.warnings: list[str] = []

    def _prompt(self, command: SegmentWork, request: UnitRequest, text: str, frame: int) -> str:
        # Built once per unit, text and frame: the cache look-up and the retries share it.
        key = (request.unit.index, text, frame)
        prompt = self._prompts.get(key)
        if prompt is None:
            planned = (
                self._planned.get(request.unit.index)
                if frame == 0 and text == request.unit.text and not request.previous_translation
                else None
            )
            prompt = planned or build_prompt(command, request, text, frame)
            self._prompts[key] = prompt
        return prompt

    async def translate(self, command: SegmentWork) -> SegmentResult:
        requests = unit_requests(command)
        outcomes: list[str | UnitFailure] = []
        if command.mode == "strict":
            previous = command.previous_translation
            for request in requests:
                chained = UnitRequest(
                    unit=request.unit,
                    previous_source=request.previous_source,
                    next_source=request.next_source,
                    previous_translation=tail(previous, PREVIOUS_TRANSLATION),
                    deviation=request.deviation,
                )
                outcome = await self._guarded(command, chained, request.unit.index)
                outcomes.append(outcome)
                if isinstance(outcome, str):  # a marked source is no context to continue
                    previous = outcome
                await progress.report(len(outcomes), len(requests), "units translated")
        else:
            limit = asyncio.Semaphore(self.concurrency)
            await self.caller.look_up(
                [self._prompt(command, request, request.unit.text, 0) for request in requests]
            )
            done = 0

            async def bounded(request: UnitRequest, position: int) -> str | UnitFailure:
                nonlocal done
                async with limit:
                    outcome = await self._guarded(command, request, position)
                done += 1
                await progress.report(done, len(requests), "units translated")
                return outcome

            outcomes = await longest_first(
                lambda i: bounded(requests[i], i), [len(r.unit.text) for r in requests]
            )
        refused = [o for o in outcomes if isinstance(o, UnitFailure) and o.check == "bad_request"]
        if refused and len(refused) == len(requests):
            # Every unit refused as a bad request: the request is wrong (an unknown model, a
            # setting the provider rejects), not the text. The segment fails; resumable.
            raise LLMBadRequest(refused[0].reason)
        translations, failures = [], []
        for position, (request, outcome) in enumerate(zip(requests, outcomes, strict=True)):
            if isinstance(outcome, UnitFailure):
                failures.append(outcome.model_copy(update={"unit": position}))
                translations.append(mark_untranslated(request.unit.text))
            else:
                translations.append(outcome)
        return SegmentResult(translations, failures)

    async def _guarded(
        self, command: SegmentWork, request: UnitRequest, position: int
    ) -> str | UnitFailure:
        """The unit's translation, or why it has none (the segment goes on without it)."""
        self._asked[request.unit.index] = 0
        try:
            return await self._unit(command, request, request.unit.text, 0)
        except UnitFailed as failed:
            reason, check = failed.reason, failed.check
        except LLMBadRequest as refused:  # this text, not the provider: e.g. its language
            reason, check = refused.reason, "bad_request"
        attempts = self._asked.get(request.unit.index, 0)
        log.warning("unit %d left untranslated after %d answers: %s", position, attempts, reason)
        return UnitFailure(unit=position, check=check, reason=reason, attempts=attempts)

    async def _unit(self, command: SegmentWork, request: UnitRequest, text: str, depth: int) -> str:
        """The unit's translation, one paragraph per source paragraph (joined by a blank
        line). An answer whose paragraphs cannot be aligned by their ids is asked again;
        if it never can be, the unit is translated in halves, so no paragraph ever takes
        another's place or is left empty."""
        paragraphs = len(split_paragraphs(text)) or 1
        glossary_terms = tuple(g.translation for g in command.context.glossary)
        last: CheckFailure | None = None
        for frame in range(len(SAFETY_FRAMES)):
            try:
                for attempt in range(self.attempts):
                    prompt = self._prompt(command, request, text, frame)
                    self._asked[request.unit.index] = self._asked.get(request.unit.index, 0) + 1
                    # A text answer cut at the output limit comes back with finish
                    # "length" (the client raises LLMOutputTruncated for structured calls
                    # only): the "truncated" check below splits the unit.
                    answer = await self.caller.text(prompt)
                    parts = aligned(answer.text, paragraphs)
                    joined = "\n\n".join(parts) if parts else strip_ids(answer.text)
                    failure = check_answer(
                        placeholders.strip(text),
                        placeholders.strip(joined),
                        answer.finish,
                        target_language=command.target_language,
                        source_language=command.source_language,
                        paragraphs=paragraphs,
                        glossary_terms=glossary_terms,
                    )
                    if failure is None and parts is None:
                        failure = CheckFailure(
                            "paragraphs",
                            f"the answer's paragraphs do not match the source's {paragraphs} ids",
                        )
                    if failure is None and parts is not None:
                        broken = _markup_mismatch(text, parts)
                        if broken and attempt < self.attempts - 1:
                            failure = CheckFailure(
                                "markup",
                                f"paragraph {broken}: placeholder tags missing, moved or invented",
                            )
                        elif broken:  # keep the words, and what markup can be kept
                            log.info("unit %d: markup repaired", request.unit.index)
                            joined = "\n\n".join(_repaired(text, parts))
                    if failure is None:
                        if not answer.cached:
                            await self.caller.remember(prompt, answer.text.strip())
                        return await self._with_glossary(
                            command, request, text, prompt, joined, paragraphs
                        )
                    if failure.kind == "truncated":
                        return await self._split(command, request, text, depth)
                    log.info("unit %d: %s; asking again", request.unit.index, failure.detail)
                    last = failure
                if last is not None and last.kind == "paragraphs" and paragraphs > 1:
                    log.info("unit %d: paragraphs never aligned; halving it", request.unit.index)
                    return await self._halves(command, request, text, depth)
                raise UnitFailed(
                    request.unit.index,
                    f"no usable translation after {self.attempts} attempts ({last.detail})"
                    if last
                    else "no usable translation",
                    last.kind if last else "empty",
                )
            except SafetyBlocked as blocked:
                if not blocked.rephrasable:  # the text itself is refused: Folio never alters it
                    raise UnitFailed(
                        request.unit.index,
                        f"the provider refuses this passage ({blocked.kind}): {blocked.reason}; "
                        "the source text was not altered",
                        "safety",
                    ) from None
                log.info(
                    "unit %d: safety block (%s); reframing the instructions",
                    request.unit.index,
                    blocked.level,
                )
                continue
        raise UnitFailed(
            request.unit.index,
            "the provider's safety filter blocked this passage, even with reframed "
            "instructions; the source text was not altered",
            "safety",
        )

    async def _with_glossary(
        self,
        command: SegmentWork,
        request: UnitRequest,
        text: str,
        prompt: str,
        answer: str,
        paragraphs: int,
    ) -> str:
        """A checked answer that leaves out glossary renderings is asked again once, with
        the missing ones named; the better of the two answers is kept, and what is still
        missing is reported."""
        # Placeholder tags carry numbers of their own (<n12>): compare the words only.
        numbers = missing_numbers(placeholders.strip(text), placeholders.strip(answer))
        if numbers:  # reported, not retried: a number may rightly be written in words
            self.warnings.append(
                f"unit {request.unit.index}: the number(s) {', '.join(sorted(numbers))} of "
                "the source are not in the translation"
            )
        missing = missing_renderings(command, text, placeholders.strip(answer))
        if not missing:
            return answer
        log.info(
            "unit %d: glossary renderings missing (%s); asking again",
            request.unit.index,
            ", ".join(g.term for g in missing),
        )
        retry = await self.caller.text(glossary_reminder(prompt, missing))
        # The retry is held to everything the first answer passed: aligned paragraph ids,
        # the checks, and the same placeholder tags; otherwise the first answer stays.
        parts = aligned(retry.text, paragraphs)
        failure = (
            check_answer(
                placeholders.strip(text),
                placeholders.strip("\n\n".join(parts)),
                retry.finish,
                target_language=command.target_language,
                source_language=command.source_language,
                paragraphs=paragraphs,
                glossary_terms=tuple(g.translation for g in command.context.glossary),
            )
            if parts is not None and _markup_mismatch(text, parts) is None
            else CheckFailure("paragraphs", "the retry's paragraphs or tags do not align")
        )
        if failure is None and parts is not None:
            retried = "\n\n".join(parts)
            still = missing_renderings(command, text, placeholders.strip(retried))
            if len(still) < len(missing):
                answer, missing = retried, still
        for entry in missing:
            self.warnings.append(
                f'unit {request.unit.index}: "{entry.term}" is not rendered as '
                f'"{entry.translation}"'
            )
        return answer

    async def _halves(
        self, command: SegmentWork, request: UnitRequest, text: str, depth: int
    ) -> str:
        """Translate the first and second half of the unit's paragraphs apart. Always
        progresses: a single paragraph cannot be misaligned."""
        paragraphs = split_paragraphs(text)
        middle = len(paragraphs) // 2
        first = await self._unit(command, request, "\n\n".join(paragraphs[:middle]), depth)
        second = await self._unit(command, request, "\n\n".join(paragraphs[middle:]), depth)
        return f"{first}\n\n{second}"

    async def _split(
        self, command: SegmentWork, request: UnitRequest, text: str, depth: int
    ) -> str:
        """A truncated answer means the unit was too long for the output limit: halve it."""
        if depth >= MAX_SPLIT_DEPTH:
            raise UnitFailed(
                request.unit.index, "the answer stayed truncated after splitting", "truncated"
            )
        paragraphs = split_paragraphs(text)
        if len(paragraphs) > 1:
            middle = len(paragraphs) // 2
            halves = ["\n\n".join(paragraphs[:middle]), "\n\n".join(paragraphs[middle:])]
            joiner = "\n\n"
        else:
            sentences = split_sentences(text)
            if len(sentences) < 2:
                middle_char = len(text) // 2
                cut = text.rfind(" ", 0, middle_char)
                cut = cut if cut > 0 else middle_char
                halves = [text[:cut], text[cut:]]
            else:
                middle = _balanced_cut(sentences)
                halves = ["".join(sentences[:middle]), "".join(sentences[middle:])]
            joiner = word_joiner(command.target_language)
        first = await self._unit(command, request, halves[0].strip(), depth + 1)
        second = await self._unit(command, request, halves[1].strip(), depth + 1)
        return f"{first}{joiner}{second}"


def _markup_mismatch(source: str, answer: list[str]) -> int | None:
    """The first answer paragraph (1-based) whose placeholder tags differ from its source's."""
    for number, (wanted, got) in enumerate(zip(split_paragraphs(source), answer, strict=True), 1):
        if not placeholders.matches(wanted, got):
            return number
    return None


def _repaired(source: str, answer: list[str]) -> list[str]:
    return [
        placeholders.repair(wanted, got)
        for wanted, got in zip(split_paragraphs(source), answer, strict=True)
    ]


def _balanced_cut(sentences: list[str]) -> int:
    """The sentence index that splits the text closest to half, keeping both sides non-empty."""
    half, acc = sum(len(s) for s in sentences) / 2, 0
    for index, sentence in enumerate(sentences, start=1):
        acc += len(sentence)
        if acc >= half:
            return min(max(index, 1), len(sentences) - 1)
    return len(sentences) - 1
