"""Cut a parsed book into pieces, units and segments.

Three nested levels, each with its own reason to exist:

* a **piece** is a block or, when a block is longer than one model call may be, a part of it,
  cut at a sentence boundary when possible so the model never sees half a sentence;
* a **unit** is the text of one model call: consecutive pieces of one chapter, as many as fit
  in ``unit_size`` characters, so calls are few but never too large for the model;
* a **segment** is what a job stores and shows to users: consecutive units of one chapter up to
  ``segment_size`` characters (the job's upstream notion of a segment).

Nothing ever crosses a chapter boundary, and the sizes are hard maxima: a unit's text is at most
``unit_size`` characters and a segment's text at most ``segment_size``. Pieces keep every
character of their block (whitespace at a cut stays inside a part), so the translation of a
block can always be put back together from its parts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise

from folio_worker.engine.documents.model import Block

BLOCK_SEPARATOR = "\n\n"

# Sentence ends: Latin terminators need whitespace after them (closing quotes or brackets may sit
# in between); CJK terminators end a sentence immediately. Matches may only start at the first
# terminator of a run and quantifiers are possessive, so long runs of dots stay linear.
_CLOSERS = "\"'\u201d\u2019\u300d\u300f\uff09)\\]\u00bb"
_LATIN_END = "[.!?\u2026]"
_CJK_END = "[\u3002\uff01\uff1f\uff0e]"
_SENTENCE_END = re.compile(
    rf"(?<!{_LATIN_END}){_LATIN_END}++[{_CLOSERS}]*+\s+"
    rf"|(?<!{_CJK_END}){_CJK_END}++[{_CLOSERS}]*+\s*+"
)
# Words after which a full stop does not end the sentence ("Mr. Samsa", "e.g. this").
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "mt", "vs", "cf", "e.g", "i.e"}
)
_WORD_BEFORE = re.compile(r"([^\s\"'(\[\u201c\u2018]+)$")
_INITIAL = re.compile(r"^[A-Z]$")
_UP_TO_LAST_SPACE = re.compile(r".*\s", re.DOTALL)


@dataclass(frozen=True)
class Piece:
    """A block (``parts == 1``) or one part of an over-long block."""

    block: int
    part: int
    parts: int
    text: str


@dataclass(frozen=True)
class Unit:
    """The text of one model call: pieces of one chapter."""

    index: int
    chapter: int
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return render_pieces(self.pieces)


@dataclass(frozen=True)
class Segment:
    """The job-level unit stored and shown to users: units of one chapter."""

    index: int
    chapter: int
    units: tuple[Unit, ...]

    @property
    def pieces(self) -> tuple[Piece, ...]:
        return tuple(piece for unit in self.units for piece in unit.pieces)

    @property
    def text(self) -> str:
        return render_pieces(self.pieces)


def render_pieces(pieces: Sequence[Piece]) -> str:
    """Pieces of different blocks joined by a blank line, parts of one block glued as-is.

    The result is stripped, so whitespace left at the edge of a cut never counts.
    """
    out: list[str] = []
    previous: int | None = None
    for piece in pieces:
        if previous is not None and piece.block != previous:
            out.append(BLOCK_SEPARATOR)
        out.append(piece.text)
        previous = piece.block
    return "".join(out).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace; their concatenation is exactly ``text``."""
    cuts = [end for end in _sentence_ends(text) if end < len(text)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in pairwise(bounds) if b > a]


def split_block(text: str, limit: int) -> list[str]:
    """Parts of at most ``limit`` characters whose concatenation is exactly ``text``.

    Each cut is the last sentence end that fits, else the last whitespace, else a hard cut
    (text without spaces), stepping back so a combining mark stays with its base character.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return [text]
    sentence_ends = sorted(set(_sentence_ends(text)))
    parts: list[str] = []
    start = 0
    cursor = 0  # index into sentence_ends
    while len(text) - start > limit:
        window_end = start + limit
        while cursor < len(sentence_ends) and sentence_ends[cursor] <= window_end:
            cursor += 1
        cut = sentence_ends[cursor - 1] if cursor else 0
        if cut <= start:
            cut = _word_cut(text, start, window_end)
        if cut <= start:
            cut = _hard_cut(text, start, window_end)
        parts.append(text[start:cut])
        start = cut
    parts.append(text[start:])
    return parts


def plan_segments(blocks: Sequence[Block], *, segment_size: int, unit_size: int) -> list[Segment]:
    """Pieces packed greedily into units, units into segments, never across chapters."""
    if segment_size < 1 or unit_size < 1:
        raise ValueError("segment_size and unit_size must be positive")
    unit_size = min(unit_size, segment_size)
    segments: list[Segment] = []
    current: list[Unit] = []
    measure = _Measure()
    for unit in _pack_units(blocks, unit_size):
        extended = measure.plus_all(unit.pieces)
        if current and (unit.chapter != current[0].chapter or extended.length > segment_size):
            segments.append(Segment(len(segments), current[0].chapter, tuple(current)))
            current = []
            extended = _Measure().plus_all(unit.pieces)
        current.append(unit)
        measure = extended
    if current:
        segments.append(Segment(len(segments), current[0].chapter, tuple(current)))
    return segments


def _pack_units(blocks: Sequence[Block], unit_size: int) -> Iterator[Unit]:
    index = 0
    current: list[Piece] = []
    measure = _Measure()
    chapter = 0
    for block in blocks:
        parts = split_block(block.text, unit_size)
        for number, part in enumerate(parts):
            piece = Piece(block.index, number, len(parts), part)
            extended = measure.plus(piece)
            if current and (block.chapter != chapter or extended.length > unit_size):
                yield Unit(index, chapter, tuple(current))
                index += 1
                current = []
                extended = _Measure().plus(piece)
            current.append(piece)
            measure = extended
            chapter = block.chapter
    if current:
        yield Unit(index, chapter, tuple(current))


@dataclass(frozen=True)
class _Measure:
    """``len(render_pieces(pieces))`` maintained piece by piece in constant time per piece.

    Re-rendering the candidate text for every added piece would be quadratic in the number of
    pieces per unit (a book of one-word paragraphs); only the totals and the whitespace at the
    two ends are needed, because rendering joins and strips.
    """

    raw: int = 0  # length of the joined text before stripping
    lead: int | None = None  # leading whitespace; None while the text is all whitespace
    trail: int = 0  # trailing whitespace
    last_block: int | None = None

    @property
    def length(self) -> int:
        return 0 if self.lead is None else self.raw - self.lead - self.trail

    def plus(self, piece: Piece) -> _Measure:
        separator = 0
        if self.last_block is not None and piece.block != self.last_block:
            separator = len(BLOCK_SEPARATOR)
        text = piece.text
        stripped_right = text.rstrip()
        raw = self.raw + separator + len(text)
        if not stripped_right:  # all whitespace: only the trailing run grows
            return _Measure(raw, self.lead, self.trail + separator + len(text), piece.block)
        lead = self.lead
        if lead is None:
            lead = self.raw + separator + (len(text) - len(text.lstrip()))
        return _Measure(raw, lead, len(text) - len(stripped_right), piece.block)

    def plus_all(self, pieces: Sequence[Piece]) -> _Measure:
        measure = self
        for piece in pieces:
            measure = measure.plus(piece)
        return measure


def _sentence_ends(text: str) -> Iterator[int]:
    """Offsets just after each sentence end (after its trailing whitespace)."""
    for match in _SENTENCE_END.finditer(text):
        if match.group(0)[0] == "." and _is_abbreviation(text, match.start()):
            continue
        yield match.end()


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the full stop at ``dot`` closes an abbreviation or an initial."""
    match = _WORD_BEFORE.search(text, max(0, dot - 40), dot)
    if match is None:
        return False
    word = match.group(1)
    return word.lower() in _ABBREVIATIONS or bool(_INITIAL.match(word))


def _word_cut(text: str, start: int, window_end: int) -> int:
    """Offset just after the last whitespace inside ``text[start:window_end]``, or ``start``."""
    match = _UP_TO_LAST_SPACE.match(text, start, window_end)
    return match.end() if match else start


def _hard_cut(text: str, start: int, window_end: int) -> int:
    cut = window_end
    while cut - 1 > start and unicodedata.combining(text[cut]):
        cut -= 1
    return cut
