"""How much text one model call gets: a unit's size, decided per job by the plan.

The parallel-friendly (latency-bound) unit is the smallest that keeps the key's concurrency
busy in about one wave: smaller units would only queue behind each other and repeat the
job-constant prompt prefix more often, larger ones make every answer, and so the slowest
call, longer. That size is then held between:

* a floor: a call's own text is at least a quarter of the job's prompt prefix (the
  instructions, the style and the book's whole glossary and characters), so the prefix,
  repeated in every call, does not dwarf what the call translates;
* a quality ceiling: answers of at most ``QUALITY_ANSWER_TOKENS``;
* the job's ``segment_size`` and what the model can take and give back: its context window
  must hold the prompt (about twice the unit, with instructions, glossary and neighbouring
  text) and the answer, and the answer must fit its output limit with room to spare.

``FOLIO_UNIT_SIZE``, when an operator sets it, replaces the first three (the model's and
the segment's bounds still hold). Sizes are in characters of the source, converted with the
script tables of ``ratios.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from folio.contracts.providers import ProviderConfig
from folio_worker.engine.ratios import bytes_per_char, typical_ratio

MIN_UNIT = 300
PROMPT_SHARE = 0.45  # of the context window, for the unit's source inside the prompt
ANSWER_SHARE = 0.6  # of the output limit, for the expected answer (answers vary)
# The prefix may be at most this many times a call's own source text. Providers serve a
# repeated prefix from their cache at a quarter to a half of the price, so at four times the prefix
# is billed about like the call's own text: on par with it, not dwarfing it.
PREFIX_PER_OWN_TEXT = 4
# Very long answers misalign more (paragraphs merged or skipped, sentences dropped), and a
# failed check asks the whole unit again: about 1,500 words of answer at most.
QUALITY_ANSWER_TOKENS = 2_000
JOIN = 2  # the blank line between two blocks of a unit
ROUND_TO = 100  # characters

UnitReason = Literal[
    "one_wave",  # the smallest size that keeps the concurrency busy in about one wave
    "prompt_prefix",  # raised so the job's prompt prefix does not dwarf the call's text
    "quality_ceiling",  # capped: longer answers misalign more
    "segment_size",  # capped by the job's segment_size
    "model_window",  # capped: the prompt must fit the model's context window
    "model_output",  # capped: the answer must fit the model's output limit
    "operator",  # FOLIO_UNIT_SIZE, set by the deployment
    "whole_segment",  # a requests-bound plan: as large as the segment (and the model) allow
]

# (context window, output limit) in tokens by model family, as documented by providers.
_WINDOWS: tuple[tuple[str, int, int], ...] = (
    ("gemini", 1_048_576, 65_536),
    ("gpt-4.1", 1_047_576, 32_768),
    ("gpt-4o", 128_000, 16_384),
    ("gpt-5", 400_000, 128_000),
    ("o3", 200_000, 100_000),
    ("o4", 200_000, 100_000),
    ("claude", 200_000, 8_192),
)
DEFAULT_WINDOW = (32_768, 8_192)  # an unknown or local model (vLLM's common default)


@dataclass(frozen=True)
class UnitSize:
    chars: int
    reason: UnitReason


@dataclass(frozen=True)
class Scripts:
    source: str
    target: str

    @property
    def answer_bytes(self) -> float:
        """UTF-8 bytes of answer per source character (the pair's typical length ratio)."""
        return typical_ratio(self.source, self.target) * bytes_per_char(self.target)


def model_window(config: ProviderConfig | None) -> tuple[int, int]:
    """The model's context window and output limit in tokens (the job's provider settings
    win over the family table)."""
    window, output = DEFAULT_WINDOW
    if config is not None:
        name = config.model.lower()
        for prefix, known_window, known_output in _WINDOWS:
            if prefix in name:
                window, output = known_window, known_output
                break
        window = config.context_window or window
        output = min(config.max_output_tokens or output, window // 2)
    return window, output


def largest_unit(*, segment_size: int, window: tuple[int, int], scripts: Scripts) -> UnitSize:
    """The largest unit the job allows: the segment, within the model's window and output."""
    context, output = window
    source_bytes = bytes_per_char(scripts.source)
    bounds: list[tuple[float, UnitReason]] = [
        (segment_size, "segment_size"),
        (context * PROMPT_SHARE * 4 / (2 * source_bytes + scripts.answer_bytes), "model_window"),
        (output * ANSWER_SHARE * 4 / scripts.answer_bytes, "model_output"),
    ]
    size, reason = min(bounds, key=lambda b: b[0])
    return UnitSize(max(MIN_UNIT, int(size)), reason)


def parallel_unit(
    chapters: Sequence[Sequence[int]],
    *,
    concurrency: int,
    unit_concurrency: int,
    segment_size: int,
    window: tuple[int, int],
    scripts: Scripts,
    prefix_tokens: int,
    override: int | None = None,
) -> UnitSize:
    """The latency-bound plan's unit, from the book's block lengths (per chapter), the
    key's ``concurrency`` (calls at once) and ``unit_concurrency`` (a segment's units at
    once), and the estimated tokens of the job's prompt prefix."""
    largest = largest_unit(segment_size=segment_size, window=window, scripts=scripts)
    if override:
        if override < largest.chars:
            return UnitSize(max(MIN_UNIT, override), "operator")
        return largest
    ceiling = int(QUALITY_ANSWER_TOKENS * 4 / scripts.answer_bytes)
    cap = min(largest, UnitSize(ceiling, "quality_ceiling"), key=lambda u: u.chars)
    floor = math.ceil(prefix_tokens / PREFIX_PER_OWN_TEXT * 4 / bytes_per_char(scripts.source))
    wave = _one_wave(chapters, concurrency, unit_concurrency, segment_size, cap.chars)
    chosen = (
        UnitSize(_rounded(wave), "one_wave")
        if wave >= floor
        else UnitSize(_rounded(floor), "prompt_prefix")
    )
    if chosen.chars >= cap.chars:
        return UnitSize(max(MIN_UNIT, cap.chars), cap.reason)
    return UnitSize(max(MIN_UNIT, chosen.chars), chosen.reason)


def _rounded(chars: int) -> int:
    """Up to a multiple of ``ROUND_TO``: books that differ by a line or a glossary entry get
    the same units (so an estimate agrees with the job that follows it)."""
    return -(-chars // ROUND_TO) * ROUND_TO


def _one_wave(
    chapters: Sequence[Sequence[int]],
    concurrency: int,
    unit_concurrency: int,
    segment_size: int,
    cap: int,
) -> int:
    """The smallest unit size (at most ``cap``) whose packing of the book needs no more
    than ``concurrency`` units, and no segment more than ``unit_concurrency``. The packing
    is estimated on lengths (a unit or two off the segmenter's in a few dozen), so 5 % of
    the concurrency is kept in hand."""
    concurrency -= concurrency // 20
    low, high = MIN_UNIT, max(MIN_UNIT, cap)
    if _fits(chapters, high, concurrency, unit_concurrency, segment_size) is False:
        return high  # the book needs several waves whatever the size: the largest
    while low < high:  # the unit count falls as the size grows
        middle = (low + high) // 2
        if _fits(chapters, middle, concurrency, unit_concurrency, segment_size):
            high = middle
        else:
            low = middle + 1
    return low


def _fits(
    chapters: Sequence[Sequence[int]],
    size: int,
    concurrency: int,
    unit_concurrency: int,
    segment_size: int,
) -> bool:
    """Whether units of ``size`` make one wave: the segmenter's greedy packing (blocks
    longer than a unit cut into equal parts, units never across chapters, segments of whole
    units), on lengths only."""
    size = min(size, segment_size)
    total = 0
    for blocks in chapters:
        units: list[int] = []
        current = 0
        for length in blocks:
            parts = max(1, math.ceil(length / size))
            for _ in range(parts):
                part = math.ceil(length / parts)
                if current and current + JOIN + part > size:
                    units.append(current)
                    current = 0
                current = part if not current else current + JOIN + part
        if current:
            units.append(current)
        total += len(units)
        if total > concurrency:
            return False
        in_segment, length_so_far = 0, 0
        for unit in units:
            if in_segment and length_so_far + JOIN + unit > segment_size:
                in_segment, length_so_far = 0, 0
            length_so_far = unit if not in_segment else length_so_far + JOIN + unit
            in_segment += 1
            if in_segment > unit_concurrency:
                return False
    return True


def neighbour_sizes(unit_chars: int) -> tuple[int, int]:
    """Characters of source shown before and after a unit, in proportion to the unit (a
    model with a small window gets small units and little context around them)."""
    before = min(1500, max(200, unit_chars // 4))
    after = min(600, max(100, unit_chars // 8))
    return before, after
