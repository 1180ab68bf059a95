"""What the model reports on each chunk of the book (structured outputs), and the chunks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, create_model

from folio_worker.engine.segmentation import Unit


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
    return _choices_schema("GlossaryRenderings", "TermRendering", "term", terms)


def labels_schema(labels: Sequence[str]) -> type[BaseModel]:
    """A schema whose ``source`` must be one of the asked navigation labels."""
    return _choices_schema("NavigationLabels", "LabelTranslation", "source", labels)


def _choices_schema(name: str, item: str, key: str, choices: Sequence[str]) -> type[BaseModel]:
    """``translations``: one ``{key, translation}`` per choice, ``key`` one of ``choices``."""
    entry = create_model(
        item,
        **{key: (Literal[tuple(choices)], ...)},  # type: ignore[call-overload,valid-type]
        translation=(str, ...),
    )
    count = len(choices)
    return create_model(
        name,
        translations=(list[entry], Field(min_length=count, max_length=count)),  # type: ignore[valid-type]
    )


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
