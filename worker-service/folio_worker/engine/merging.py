"""Merging the chunk reports into one job-wide context, in book order.

Terms must be names the book really uses (``terms.vet``); the narrative style is the one
that covers most of the book; how a character speaks to another is kept per chapter where
it changes; short forms of a name are aliases of its character. (Related terms share a
glossary batch: ``batching.py``.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from folio.contracts import Character, GlossaryEntry, NarrativeStyle, SpeechStyle
from folio_worker.engine import terms as vetting
from folio_worker.engine.context import TextIndex
from folio_worker.engine.families import alias_map
from folio_worker.engine.prompts import formality_hint
from folio_worker.engine.reports import Chunk, ChunkAnalysis, NarrationNotes


def normalise_term(term: str) -> str:
    return vetting.clean(term)


@dataclass
class Merged:
    terms: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (term, kind)
    characters: dict[str, dict] = field(default_factory=dict)
    protagonists: Counter[str] = field(default_factory=Counter)
    narrations: list[tuple[NarrationNotes, int]] = field(default_factory=list)  # (notes, size)
    summaries: dict[int, list[str]] = field(default_factory=dict)  # chapter -> summaries
    deviations: dict[int, str] = field(default_factory=dict)


class TermVetter:
    """The names reports mention, vetted against the book (``terms.vet``), each once.

    Vetting a report's names is most of merging's work; ``report`` does it for a report
    as soon as it arrives, while the other chunks are still being analysed, so that only
    the last report's names are left for the merge that the glossary calls wait for.
    """

    def __init__(self, book: TextIndex) -> None:
        self.book = book
        self._vetted: dict[tuple[str, str], str | None] = {}

    def __call__(self, raw: str, kind: str) -> str | None:
        key = (raw, kind)
        if key not in self._vetted:
            term = vetting.vet(raw, kind, self.book.text)
            self._vetted[key] = term if term and self.book.contains(term) else None
        return self._vetted[key]

    def report(self, report: ChunkAnalysis) -> None:
        """Vet every name ``report`` mentions, as ``merge_reports`` will ask for them."""
        if report.narration.protagonist:
            self(report.narration.protagonist, "person")
        for note in report.terms:
            if term := self(note.term, note.kind):
                self.book.frequency(term)  # counts the book's words now: candidates rank by it
        for person in report.characters:
            if self(person.name, "person"):
                for speech in person.speaks_to:
                    self(speech.listener, "person")


def merge_reports(
    chunks: Sequence[Chunk],
    reports: Sequence[ChunkAnalysis | None],
    book: TextIndex,
    vetter: TermVetter | None = None,
) -> Merged:
    """One job-wide context from the chunk reports, in book order. Terms must be names the
    book really uses (``terms.vet``); how a character speaks to another is kept per chapter
    where it changes. ``vetter`` (of ``book``) may already know some of the names."""
    merged = Merged()
    vet = vetter or TermVetter(book)

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
                # Models sometimes list a character as speaking to themselves: no register.
                if listener and listener.casefold() == name.casefold():
                    continue
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


def characters(
    merged: Merged, glossary: dict[str, GlossaryEntry], target_language: str
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
        # A short form merged into its owner may have been "speaking to" the full name:
        # nobody speaks to themselves (the model's slip), whatever form it used.
        selves = {name.casefold(), *(a.casefold() for a in alias_names)}
        speaks = {k: v for k, v in speaks.items() if v[0].casefold() not in selves}
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


def style(merged: Merged, user: NarrativeStyle | None) -> NarrativeStyle:
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
