"""The analysis pass: read the whole book once, in parallel chunks, before translating.

Each chunk reports its narration, terms, characters and style deviations (one structured
call per chunk, all chunks at once). The reports are merged into one job-wide context;
then the glossary terms get their target renderings, in parallel batches that keep
related names (sharing a word, like "Gregor Samsa" and "Mr. Samsa") in the same batch so
they are rendered consistently. User-supplied style fields and glossary entries always win.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field, create_model

from folio.contracts import (
    Character,
    GlossaryEntry,
    JobContext,
    NarrativeStyle,
    SpeechStyle,
)
from folio_worker.engine import terms as vetting
from folio_worker.engine.calls import ModelCaller
from folio_worker.engine.context import TextIndex, inflects, occurs
from folio_worker.engine.families import alias_map, family_key
from folio_worker.engine.prompts import (
    SAFETY_FRAMES,
    analysis_prompt,
    formality_hint,
    glossary_prompt,
)
from folio_worker.engine.segmentation import Unit
from folio_worker.llm import LLMAuthError, LLMError, SafetyBlocked

log = logging.getLogger(__name__)

MAX_TERMS = 400
TERMS_PER_BATCH = 24
ATTEMPTS = 2  # a failed chunk or glossary batch is asked once more before it is reported
SUMMARY_CHARS = 400  # of one chapter's summary in the context


# ---- what the model reports (structured outputs) ------------------------------------


class NarrationNotes(BaseModel):
    point_of_view: Literal["first_person", "second_person", "third_person", "mixed"]
    protagonist: str | None = None
    voice: str = ""
    formality: str = ""
    tone: list[str] = Field(default_factory=list, max_length=5)
    key_rule: str = ""


class TermNote(BaseModel):
    term: str
    kind: Literal["person", "place", "organization", "object", "concept", "other"]


class SpeechNote(BaseModel):
    listener: str
    formality: Literal["formal", "polite", "casual", "intimate", "unknown"]


class CharacterNote(BaseModel):
    name: str
    gender: Literal["male", "female", "nonbinary", "unknown"]
    speaks_to: list[SpeechNote] = Field(default_factory=list, max_length=4)


class DeviationNote(BaseModel):
    starts_with: str
    instruction: str


class ChunkAnalysis(BaseModel):
    narration: NarrationNotes
    summary: str = Field(default="", max_length=600)
    terms: list[TermNote] = Field(default_factory=list, max_length=30)
    characters: list[CharacterNote] = Field(default_factory=list, max_length=10)
    deviations: list[DeviationNote] = Field(default_factory=list, max_length=3)


def renderings_schema(terms: Sequence[str]) -> type[BaseModel]:
    """A schema whose ``term`` must be one of the asked terms (no invented entries)."""
    rendering = create_model(
        "TermRendering",
        term=(Literal[tuple(terms)], ...),  # type: ignore[valid-type]
        translation=(str, ...),
    )
    count = len(terms)
    return create_model(
        "GlossaryRenderings",
        translations=(list[rendering], Field(min_length=count, max_length=count)),  # type: ignore[valid-type]
    )


# ---- chunking and merging --------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    units: tuple[Unit, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(u.text for u in self.units)


def chunk_units(units: Sequence[Unit], chunk_size: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    current: list[Unit] = []
    size = 0
    for unit in units:
        if current and size + len(unit.text) > chunk_size:
            chunks.append(Chunk(tuple(current)))
            current, size = [], 0
        current.append(unit)
        size += len(unit.text) + 2
    if current:
        chunks.append(Chunk(tuple(current)))
    return chunks


def normalise_term(term: str) -> str:
    return vetting.clean(term)


@dataclass
class AnalysisResult:
    context: JobContext
    deviations: dict[int, str] = field(default_factory=dict)  # unit index -> instruction


@dataclass
class _Merged:
    terms: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (term, kind)
    characters: dict[str, dict] = field(default_factory=dict)
    protagonists: Counter[str] = field(default_factory=Counter)
    narrations: list[tuple[NarrationNotes, int]] = field(default_factory=list)  # (notes, size)
    summaries: dict[int, list[str]] = field(default_factory=dict)  # chapter -> summaries
    deviations: dict[int, str] = field(default_factory=dict)


def merge_reports(
    chunks: Sequence[Chunk], reports: Sequence[ChunkAnalysis | None], book: TextIndex
) -> _Merged:
    """One job-wide context from the chunk reports, in book order. Terms must be names the
    book really uses (``terms.vet``); how a character speaks to another is kept per chapter
    where it changes."""
    merged = _Merged()
    vetted: dict[tuple[str, str], str | None] = {}

    def vet(raw: str, kind: str) -> str | None:
        key = (raw, kind)
        if key not in vetted:
            term = vetting.vet(raw, kind, book.text)
            vetted[key] = term if term and book.contains(term) else None
        return vetted[key]

    for chunk, report in zip(chunks, reports, strict=True):
        if report is None:
            continue
        chapter = chunk.units[0].chapter if chunk.units else 0
        merged.narrations.append((report.narration, len(chunk.text)))
        if report.summary.strip():
            merged.summaries.setdefault(chapter, []).append(report.summary.strip())
        protagonist = report.narration.protagonist
        if protagonist and (name := vet(protagonist, "person")):
            merged.protagonists[name] += 1
        for note in report.terms:
            if term := vet(note.term, note.kind):
                merged.terms.setdefault(term.casefold(), (term, note.kind))
        for person in report.characters:
            name = vet(person.name, "person")
            if not name:
                continue
            entry = merged.characters.setdefault(
                name.casefold(), {"name": name, "genders": Counter(), "speaks_to": {}}
            )
            if person.gender != "unknown":
                entry["genders"][person.gender] += 1
            for speech in person.speaks_to:
                listener = vet(speech.listener, "person")
                if listener and speech.formality != "unknown":
                    history = entry["speaks_to"].setdefault(listener.casefold(), [listener, []])
                    changes = history[1]
                    if not changes or changes[-1][1] != speech.formality:
                        changes.append((chapter, speech.formality))
            merged.terms.setdefault(name.casefold(), (name, "person"))
        for deviation in report.deviations:
            start = deviation.starts_with.strip()[:80]
            for unit in chunk.units:
                if start and start in unit.text:
                    merged.deviations.setdefault(unit.index, deviation.instruction.strip())
                    break
    parts = vetting.subsumed([t for t, _ in merged.terms.values()], book.text)
    merged.terms = {k: v for k, v in merged.terms.items() if v[0] not in parts}
    merged.characters = {k: v for k, v in merged.characters.items() if v["name"] not in parts}
    return merged


def term_batches(
    terms: Sequence[tuple[str, str]], size: int = TERMS_PER_BATCH
) -> list[list[tuple[str, str]]]:
    """Batches in which terms sharing a word stay together (consistent family names)."""
    parent = list(range(len(terms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_word: dict[str, int] = {}
    for i, (term, _) in enumerate(terms):
        for word in family_key(term):
            if word in by_word:
                parent[find(i)] = find(by_word[word])
            else:
                by_word[word] = i
    for i, j in alias_map([t for t, _ in terms]).items():
        parent[find(i)] = find(j)
    groups: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for i, term in enumerate(terms):
        groups[find(i)].append(term)
    batches: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    for group in sorted(groups.values(), key=len, reverse=True):
        if current and len(current) + len(group) > size:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches


def example_sentence(term: str, text: str, width: int = 90) -> str:
    match = re.search(re.escape(term), text)
    if not match:
        return ""
    start = max(0, match.start() - width // 2)
    return " ".join(text[start : match.end() + width // 2].split())


# ---- the pass ------------------------------------------------------------------------


async def analyse_book(
    units: Sequence[Unit],
    *,
    caller: ModelCaller,
    target_language: str,
    source_language: str | None,
    chunk_size: int,
    concurrency: int,
    user_style: NarrativeStyle | None,
    user_glossary: Sequence[GlossaryEntry],
    glossary_mode: str,
    while_rendering: Callable[[list[str]], object] | None = None,
) -> AnalysisResult:
    """``while_rendering`` runs in a thread while the glossary renderings are awaited,
    with every term and name the context may hold: work that needs them but not their
    renderings (finding where they occur) is then off the critical path."""
    book_text = "\n\n".join(u.text for u in units)
    chunks = chunk_units(units, chunk_size)
    limit = asyncio.Semaphore(max(1, concurrency))

    failures: list[str] = []
    warnings: list[str] = []

    prompts = [
        analysis_prompt(
            text=chunk.text, target_language=target_language, source_language=source_language
        )
        for chunk in chunks
    ]
    await caller.look_up([SAFETY_FRAMES[0] + p for p in prompts], ChunkAnalysis)

    async def analyse(prompt: str) -> ChunkAnalysis | str:
        """The chunk's report, or why it could not be had."""
        async with limit:
            # A safety block is answered like in translation: the same text, with the
            # instructions reframed. Refused keys end the analysis (nothing else will work).
            reason = "no answer"
            for frame in SAFETY_FRAMES:
                for _ in range(ATTEMPTS):
                    try:
                        return await caller.structured(frame + prompt, ChunkAnalysis)
                    except SafetyBlocked as exc:
                        failures.append(exc.reason)
                        reason = exc.reason
                        break  # the next frame
                    except LLMAuthError:
                        raise
                    except LLMError as exc:
                        # Asked once more; then the chunk is reported, not silently dropped.
                        failures.append(exc.reason)
                        reason = exc.reason
                        log.warning("analysis of a chunk failed: %s", exc.reason)
                else:
                    return reason
            return reason

    answers = await asyncio.gather(*(analyse(p) for p in prompts))
    reports = [a if isinstance(a, ChunkAnalysis) else None for a in answers]
    if chunks and all(r is None for r in reports):
        detail = f": {failures[-1]}" if failures else ""
        raise AnalysisFailed(f"the model could not analyse any part of the book{detail}")
    for number, (chunk, answer) in enumerate(zip(chunks, answers, strict=True), start=1):
        if isinstance(answer, str):
            warnings.append(
                f"Part {number} of {len(chunks)} of the book (chapter {chunk.units[0].chapter + 1},"
                f' from "{chunk.text[:40].strip()}…") could not be analysed ({answer}): its '
                "names, characters and style notes are missing from the context."
            )
    book = TextIndex(book_text, inflecting=inflects(source_language))
    merged = merge_reports(chunks, reports, book)

    user_terms = {g.term.casefold(): g for g in user_glossary}
    glossary: dict[str, GlossaryEntry] = dict(user_terms)
    if glossary_mode != "replace":
        candidates = [
            (term, kind) for key, (term, kind) in merged.terms.items() if key not in user_terms
        ]
        candidates.sort(key=lambda tk: -book.frequency(tk[0]))
        candidates = candidates[:MAX_TERMS]
        rendering = _render_terms(
            candidates,
            caller=caller,
            target_language=target_language,
            book_text=book_text,
            known=list(user_glossary),
            limit=limit,
            warnings=warnings,
        )
        if while_rendering is None:
            rendered = await rendering
        else:
            names = [c["name"] for c in merged.characters.values()]
            words = [t for t, _ in candidates] + [g.term for g in user_glossary] + names
            rendered, _ = await asyncio.gather(rendering, asyncio.to_thread(while_rendering, words))
        for term, kind in candidates:
            if term in rendered:
                glossary.setdefault(
                    term.casefold(),
                    GlossaryEntry(term=term, translation=rendered[term], kind=kind),
                )

    return AnalysisResult(
        context=JobContext(
            style=_style(merged, user_style),
            glossary=sorted(glossary.values(), key=lambda g: g.term.casefold()),
            characters=_characters(merged, glossary, target_language),
            chapter_summaries={
                chapter: " ".join(parts)[:SUMMARY_CHARS]
                for chapter, parts in sorted(merged.summaries.items())
            },
            warnings=warnings,
        ),
        deviations=merged.deviations,
    )


def _characters(
    merged: _Merged, glossary: dict[str, GlossaryEntry], target_language: str
) -> list[Character]:
    """Characters with their renderings; one mentioned by a short form of another's name
    (Gregor, 小雨) is that character, and the short form becomes an alias."""
    entries = list(merged.characters.values())
    aliases = alias_map([e["name"] for e in entries])
    owners = {i: j for i, j in aliases.items() if j not in aliases}
    characters = []
    for i, entry in enumerate(entries):
        if i in owners:
            continue
        name = entry["name"]
        genders = Counter(entry["genders"])
        speaks = dict(entry["speaks_to"])
        alias_names = []
        for k, owner in owners.items():
            if owner == i:
                alias_names.append(entries[k]["name"])
                genders.update(entries[k]["genders"])
                for key, value in entries[k]["speaks_to"].items():
                    speaks.setdefault(key, value)
        gender = genders.most_common(1)[0][0] if genders else "unknown"
        rendering = glossary.get(name.casefold())
        characters.append(
            Character(
                name=name,
                translation=rendering.translation if rendering else None,
                gender=gender,
                aliases=alias_names,
                speaks_to=[
                    SpeechStyle(
                        listener=listener,
                        formality=formality,
                        note=formality_hint(target_language, formality),
                        from_chapter=chapter if n else None,
                    )
                    for listener, changes in speaks.values()
                    for n, (chapter, formality) in enumerate(changes)
                ],
            )
        )
    return characters


async def _render_terms(
    candidates: Sequence[tuple[str, str]],
    *,
    caller: ModelCaller,
    target_language: str,
    book_text: str,
    known: Sequence[GlossaryEntry],
    limit: asyncio.Semaphore,
    warnings: list[str],
) -> dict[str, str]:
    async def render(batch: list[tuple[str, str]]) -> dict[str, str]:
        terms = [t for t, _ in batch]
        prompt = glossary_prompt(
            terms=[(t, k, example_sentence(t, book_text)) for t, k in batch],
            target_language=target_language,
            known=[g for g in known if any(occurs(w, " ".join(terms)) for w in g.term.split())],
        )
        reason = "no answer"
        async with limit:
            for _ in range(ATTEMPTS):
                try:
                    answer = await caller.structured(prompt, renderings_schema(terms))
                    break
                except LLMAuthError:
                    raise
                except LLMError as exc:
                    reason = exc.reason
                    log.warning("glossary rendering failed for a batch: %s", exc)
            else:
                shown = ", ".join(terms[:6]) + (", …" if len(terms) > 6 else "")
                warnings.append(
                    f"The glossary renderings of {len(terms)} terms ({shown}) could not be "
                    f"made ({reason}): they are translated without a fixed rendering."
                )
                return {}
        return {
            item.term: item.translation.strip()  # type: ignore[attr-defined]
            for item in answer.translations  # type: ignore[attr-defined]
            if item.translation.strip()  # type: ignore[attr-defined]
        }

    results = await asyncio.gather(*(render(b) for b in term_batches(candidates)))
    rendered: dict[str, str] = {}
    for result in results:
        rendered.update(result)
    return rendered


def _style(merged: _Merged, user: NarrativeStyle | None) -> NarrativeStyle:
    """The narration of the whole book: each field the choice of most of its text (a
    foreword or a letter does not set the book's voice)."""
    protagonist = merged.protagonists.most_common(1)[0][0] if merged.protagonists else None
    auto = NarrativeStyle()
    if merged.narrations:
        views: Counter[str] = Counter()
        for notes, size in merged.narrations:
            views[notes.point_of_view] += size
        view = views.most_common(1)[0][0]
        typical = [(n, size) for n, size in merged.narrations if n.point_of_view == view]
        voice = _weighted_pick([(n.voice, size) for n, size in typical])
        formality = _weighted_pick([(n.formality, size) for n, size in merged.narrations])
        rule = _weighted_pick([(n.key_rule, size) for n, size in typical])
        tones: Counter[str] = Counter()
        for notes, size in merged.narrations:
            for tone in notes.tone:
                tones[tone.strip().casefold()] += size
        auto = NarrativeStyle(
            protagonist=protagonist
            or next((n.protagonist for n, _ in typical if n.protagonist), None),
            narration=f"{view.replace('_', ' ')}; {voice}".strip("; "),
            formality=formality or None,
            tone=[t for t, _ in tones.most_common(5)],
            key_rule=rule or None,
        )
    if user is None:
        return auto
    # User fields win where given; the analysis fills the rest.
    return NarrativeStyle(
        protagonist=user.protagonist or auto.protagonist,
        narration=user.narration or auto.narration,
        formality=user.formality or auto.formality,
        tone=user.tone or auto.tone,
        key_rule=user.key_rule or auto.key_rule,
    )


def _weighted_pick(values: Sequence[tuple[str, int]]) -> str:
    """The value (by its normalised text) that covers the most text; ties: the first."""
    weights: Counter[str] = Counter()
    first: dict[str, str] = {}
    for value, size in values:
        key = " ".join(value.split()).casefold()
        if key:
            weights[key] += size
            first.setdefault(key, value.strip())
    return first[weights.most_common(1)[0][0]] if weights else ""


class AnalysisFailed(Exception):
    pass
