"""What the engine translates for one segment: the job's settings from the command, the
segment's part of the stored plan (its units and their context) and the book's glossary
and characters (the constant first part of every prompt of the job)."""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass, field

from folio.contracts import (
    Character,
    GlossaryEntry,
    NarrativeStyle,
    PlannedUnit,
    SegmentContext,
    SegmentPlan,
    TranslateSegment,
)
from folio.contracts.engine import TranslationMode
from folio_worker.engine.context import speech_at
from folio_worker.engine.prompts import job_prefix

_KEPT_PREFIXES = 16  # jobs being translated in this process, about
_PREFIXES: OrderedDict[tuple[object, ...], tuple[str, object]] = OrderedDict()


@dataclass(frozen=True)
class SegmentWork:
    target_language: str
    units: list[PlannedUnit]
    source_language: str | None = None
    mode: TranslationMode = "default"
    style: NarrativeStyle = field(default_factory=NarrativeStyle)
    context: SegmentContext = field(default_factory=SegmentContext)
    previous_translation: str = ""  # strict continuity only
    book_glossary: list[GlossaryEntry] = field(default_factory=list)
    book_characters: list[Character] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        command: TranslateSegment,
        plan: SegmentPlan,
        book: tuple[list[GlossaryEntry], list[Character]] = ([], []),
    ) -> SegmentWork:
        return cls(
            target_language=command.target_language,
            source_language=command.source_language,
            mode=command.mode,
            style=command.style,
            units=plan.units,
            context=plan.context,
            previous_translation=command.previous_translation,
            book_glossary=book[0],
            book_characters=book[1],
        )

    @functools.cached_property
    def prefix(self) -> str:
        """The job-constant start of every prompt (the same bytes for every segment)."""
        glossary = self.book_glossary or self.context.glossary
        characters = self.book_characters or self.context.characters
        # Every segment of a job cites the same glossary and characters (the stored plan's
        # objects): the prefix is built once per job and process, not once per segment.
        key = (
            self.target_language,
            self.source_language,
            self.mode == "turbo",
            self.style.model_dump_json(),
            tuple(map(id, glossary)),
            tuple(map(id, characters)),
        )
        known = _PREFIXES.get(key)
        if known is not None:
            _PREFIXES.move_to_end(key)
            return known[0]
        prefix = job_prefix(
            target_language=self.target_language,
            source_language=self.source_language,
            style=self.style,
            glossary=glossary,
            # How they speak from the start; later changes go with the chapter's calls.
            characters=[speech_at(c, 0) for c in characters],
            turbo=self.mode == "turbo",
        )
        # The entry holds the objects its key names by id: no other object can take
        # their ids while it is kept.
        _PREFIXES[key] = (prefix, (tuple(glossary), tuple(characters)))
        while len(_PREFIXES) > _KEPT_PREFIXES:
            _PREFIXES.popitem(last=False)
        return prefix

    @functools.cached_property
    def changing_speech(self) -> frozenset[str]:
        """The characters whose way of speaking to someone changes in a later chapter."""
        return frozenset(
            c.name for c in self.book_characters if any(s.from_chapter for s in c.speaks_to)
        )
