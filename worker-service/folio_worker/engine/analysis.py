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
from folio_worker.engine import progress
from folio_worker.engine.calls import ModelCaller, all_or_stop
from folio_worker.engine.context import TextIndex, occurs
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
_QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb()[]"
_POSSESSIVE = re.compile("[\u2019']s$")
_ARTICLES = re.compile(r"^(the|a|an|le|la|les|el|los|las|der|die|das)\s+", re.IGNORECASE)


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
    term = _ARTICLES.sub("", term.strip().strip(_QUOTES)).strip()
    return _POSSESSIVE.sub("", term).strip()


@dataclass
class AnalysisResult:
    context: JobContext
    deviations: dict[int, str] = field(default_factory=dict)  # unit index -> instruction


@dataclass
class _Merged:
    terms: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (term, kind)
    characters: dict[str, dict] = field(default_factory=dict)
    protagonists: Counter[str] = field(default_factory=Counter)
    first_narration: NarrationNotes | None = None
    deviations: dict[int, str] = field(default_factory=dict)


def merge_reports(
    chunks: Sequence[Chunk], reports: Sequence[ChunkAnalysis | None], book: TextIndex
) -> _Merged:
    merged = _Merged()
    for chunk, report in zip(chunks, reports, strict=True):
        if report is None:
            continue
        if merged.first_narration is None:
            merged.first_narration = report.narration
        if report.narration.protagonist and book.contains(report.narration.protagonist):
            merged.protagonists[report.narration.protagonist.strip()] += 1
        for note in report.terms:
            term = normalise_term(note.term)
            if len(term) < 2 or not book.contains(term):
                continue  # never keep a term the book does not contain
            merged.terms.setdefault(term.casefold(), (term, note.kind))
        for person in report.characters:
            name = normalise_term(person.name)
            if not name or not book.contains(name):
                continue
            entry = merged.characters.setdefault(
                name.casefold(), {"name": name, "genders": Counter(), "speaks_to": {}}
            )
            if person.gender != "unknown":
                entry["genders"][person.gender] += 1
            for speech in person.speaks_to:
                listener = normalise_term(speech.listener)
                if listener and speech.formality != "unknown":
                    entry["speaks_to"][listener.casefold()] = (listener, speech.formality)
            merged.terms.setdefault(name.casefold(), (name, "person"))
        for deviation in report.deviations:
            start = deviation.starts_with.strip()[:80]
            for unit in chunk.units:
                if start and start in unit.text:
                    merged.deviations.setdefault(unit.index, deviation.instruction.strip())
                    break
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
        for word in re.findall(r"\w{3,}", term.casefold()):
            if word in by_word:
                parent[find(i)] = find(by_word[word])
            else:
                by_word[word] = i
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
    terms_per_batch: int = TERMS_PER_BATCH,
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

    prompts = [
        analysis_prompt(
            text=chunk.text, target_language=target_language, source_language=source_language
        )
        for chunk in chunks
    ]
    await caller.look_up([SAFETY_FRAMES[0] + p for p in prompts], ChunkAnalysis)

    async def analyse(prompt: str) -> ChunkAnalysis | None:
        async with limit:
            # A safety block is answered like in translation: the same text, with the
            # instructions reframed. Refused keys end the analysis (nothing else will work).
            for frame in SAFETY_FRAMES:
                try:
                    return await caller.structured(frame + prompt, ChunkAnalysis)
                except SafetyBlocked as exc:
                    failures.append(exc.reason)
                except LLMAuthError:
                    raise
                except LLMError as exc:
                    # One unreadable chunk must not sink the book: the others still count.
                    failures.append(exc.reason)
                    log.warning("analysis of a chunk failed: %s", exc.reason)
                    return None
            return None

    analysed = 0

    async def counted(prompt: str) -> ChunkAnalysis | None:
        nonlocal analysed
        report = await analyse(prompt)
        analysed += 1
        await progress.report(analysed, len(prompts), "parts of the book analysed")
        return report

    reports = await all_or_stop(counted(p) for p in prompts)
    if chunks and all(r is None for r in reports):
        detail = f": {failures[-1]}" if failures else ""
        raise AnalysisFailed(f"the model could not analyse any part of the book{detail}")
    book = TextIndex(book_text)
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
            batch_size=terms_per_batch,
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

    characters = []
    for entry in merged.characters.values():
        name = entry["name"]
        gender = entry["genders"].most_common(1)[0][0] if entry["genders"] else "unknown"
        rendering = glossary.get(name.casefold())
        characters.append(
            Character(
                name=name,
                translation=rendering.translation if rendering else None,
                gender=gender,
                speaks_to=[
                    SpeechStyle(
                        listener=listener,
                        formality=formality,
                        note=formality_hint(target_language, formality),
                    )
                    for listener, formality in entry["speaks_to"].values()
                ],
            )
        )

    return AnalysisResult(
        context=JobContext(
            style=_style(merged, user_style),
            glossary=sorted(glossary.values(), key=lambda g: g.term.casefold()),
            characters=characters,
        ),
        deviations=merged.deviations,
    )


async def _render_terms(
    candidates: Sequence[tuple[str, str]],
    *,
    caller: ModelCaller,
    target_language: str,
    book_text: str,
    known: Sequence[GlossaryEntry],
    limit: asyncio.Semaphore,
    batch_size: int = TERMS_PER_BATCH,
) -> dict[str, str]:
    async def render(batch: list[tuple[str, str]]) -> dict[str, str]:
        terms = [t for t, _ in batch]
        prompt = glossary_prompt(
            terms=[(t, k, example_sentence(t, book_text)) for t, k in batch],
            target_language=target_language,
            known=[g for g in known if any(occurs(w, " ".join(terms)) for w in g.term.split())],
        )
        async with limit:
            try:
                answer = await caller.structured(prompt, renderings_schema(terms))
            except LLMError as exc:
                log.warning("glossary rendering failed for a batch: %s", exc)
                return {}
        return {
            item.term: item.translation.strip()  # type: ignore[attr-defined]
            for item in answer.translations  # type: ignore[attr-defined]
            if item.translation.strip()  # type: ignore[attr-defined]
        }

    results = await all_or_stop(render(b) for b in term_batches(candidates, batch_size))
    rendered: dict[str, str] = {}
    for result in results:
        rendered.update(result)
    return rendered


def _style(merged: _Merged, user: NarrativeStyle | None) -> NarrativeStyle:
    notes = merged.first_narration
    protagonist = merged.protagonists.most_common(1)[0][0] if merged.protagonists else None
    auto = NarrativeStyle(
        protagonist=protagonist or (notes.protagonist if notes else None),
        narration=(
            f"{notes.point_of_view.replace('_', ' ')}; {notes.voice}".strip("; ") if notes else None
        ),
        formality=notes.formality or None if notes else None,
        tone=list(notes.tone) if notes else [],
        key_rule=notes.key_rule or None if notes else None,
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


class AnalysisFailed(Exception):
    pass
