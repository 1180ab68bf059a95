"""Planning pieces, units and segments: hard size limits, lossless, never across chapters."""

# Typographic quotes and CJK punctuation are the subject of these tests, not typos.
# ruff: noqa: RUF001

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from work_count import growth

from folio_worker.engine.documents import Block, parse_document
from folio_worker.engine.segmentation import Piece, Segment, plan_segments, render_pieces

METAMORPHOSIS = Path(__file__).resolve().parents[2] / "bench" / "data" / "metamorphosis.txt"


def check_plan(blocks: list[Block], segments: list[Segment], segment_size: int, unit_size: int):
    unit_size = min(unit_size, segment_size)
    units = [unit for segment in segments for unit in segment.units]
    assert [s.index for s in segments] == list(range(len(segments)))
    assert [u.index for u in units] == list(range(len(units)))
    for segment in segments:
        assert len(segment.text) <= segment_size
        assert all(unit.chapter == segment.chapter for unit in segment.units)
        assert segment.units
    for unit in units:
        assert len(unit.text) <= unit_size
        assert unit.pieces
    pieces = [piece for unit in units for piece in unit.pieces]
    by_block = {block.index: block for block in blocks}
    assert all(by_block[p.block].chapter == u.chapter for u in units for p in u.pieces)
    # (block, part) order, no gaps, no duplicates, and every block rebuilt exactly.
    expected: list[tuple[int, int]] = []
    rebuilt: dict[int, str] = {}
    for block in blocks:
        parts = [p for p in pieces if p.block == block.index]
        expected.extend((block.index, i) for i in range(len(parts)))
        assert all(p.parts == len(parts) for p in parts)
        rebuilt[block.index] = "".join(p.text for p in parts)
    assert [(p.block, p.part) for p in pieces] == expected
    assert all(rebuilt[b.index] == b.text for b in blocks)
    chapters = [s.chapter for s in segments]
    assert chapters == sorted(chapters)
    # Greedy: the next piece (unit) of the same chapter would not have fitted.
    for before, after in itertools.pairwise(units):
        if before.chapter == after.chapter:
            assert len(render_pieces([*before.pieces, after.pieces[0]])) > unit_size
    for before, after in itertools.pairwise(segments):
        if before.chapter == after.chapter:
            assert len(render_pieces([*before.pieces, *after.units[0].pieces])) > segment_size


def test_metamorphosis_plan() -> None:
    book = parse_document(METAMORPHOSIS.read_bytes(), "metamorphosis.txt")
    segments = plan_segments(book.blocks, segment_size=15000, unit_size=2500)
    check_plan(list(book.blocks), segments, 15000, 2500)
    assert len(book.chapters) == 3
    assert {s.chapter for s in segments} == {0, 1, 2}
    assert all(len(s.text) <= 15000 for s in segments)
    assert all(len(u.text) <= 2500 for s in segments for u in s.units)
    # Greedy packing: segments are well filled (only a chapter's last one may be short).
    assert sum(len(s.text) for s in segments) / len(segments) > 8000
    split = [p for s in segments for p in s.pieces if p.parts > 1]
    assert split, "Metamorphosis has paragraphs longer than 2500 characters"
    for piece in split:
        if piece.part < piece.parts - 1:
            assert piece.text.rstrip()[-1] in ".!?”’\"'…"


def test_render_pieces_joins_blocks_and_glues_parts() -> None:
    pieces = [
        Piece(0, 0, 2, "First half. "),
        Piece(0, 1, 2, "Second half."),
        Piece(1, 0, 1, "Next."),
    ]
    assert render_pieces(pieces) == "First half. Second half.\n\nNext."
    assert render_pieces([Piece(3, 1, 2, "  tail  ")]) == "tail"
    assert render_pieces([]) == ""


def test_units_and_segments_never_cross_chapters() -> None:
    blocks = [Block(i, i // 2, "paragraph", f"Paragraph {i}.") for i in range(6)]
    segments = plan_segments(blocks, segment_size=1000, unit_size=1000)
    assert [[p.block for p in s.pieces] for s in segments] == [[0, 1], [2, 3], [4, 5]]
    assert segments[1].text == "Paragraph 2.\n\nParagraph 3."


def test_unit_size_is_clamped_to_segment_size() -> None:
    blocks = [Block(0, 0, "paragraph", "word " * 99 + "end")]
    segments = plan_segments(blocks, segment_size=50, unit_size=400)
    assert all(len(u.text) <= 50 for s in segments for u in s.units)
    check_plan(blocks, segments, 50, 400)


def tiny_blocks(count: int, per_chapter: int) -> list[Block]:
    return [Block(i, i // per_chapter, "paragraph", "x") for i in range(count)]


def test_many_tiny_blocks_plan_in_linear_work() -> None:
    # One-word paragraphs pack many pieces into a unit: re-measuring a unit's text for every
    # added piece would make planning quadratic in the pieces per unit, so one unit (and one
    # segment) holding all the blocks is where that would show.
    def plan_in_one_unit(count: int) -> list[Segment]:
        return plan_segments(tiny_blocks(count, count), segment_size=10**6, unit_size=10**6)

    def plan_in_small_units(count: int) -> list[Segment]:
        return plan_segments(tiny_blocks(count, count), segment_size=15000, unit_size=2500)

    assert growth(plan_in_one_unit, 1000) < 2.3
    assert growth(plan_in_small_units, 3000) < 2.3


def test_many_tiny_blocks_plan_within_limits() -> None:
    blocks = tiny_blocks(4_000, 1_000)
    segments = plan_segments(blocks, segment_size=15000, unit_size=2500)
    assert len({s.chapter for s in segments}) == 4
    check_plan(blocks, segments, 15000, 2500)


def test_invalid_sizes() -> None:
    with pytest.raises(ValueError):
        plan_segments([], segment_size=0, unit_size=10)
    assert plan_segments([], segment_size=10, unit_size=10) == []


WORD = st.sampled_from(
    [
        "the",
        "Mr.",
        "Samsa",
        "“Oh,”",
        "‘no’",
        '"yes"',
        "'ok'",
        "said.",
        "why?",
        "wow!",
        "…",
        "猫である。",
        "名前は",
        "まだ無い！",
        "「はい」",
        "한국어",
        "문장.",
        "x" * 40,
        "e.g.",
        "J.",
    ]
)
SEPARATOR = st.sampled_from([" ", " ", " ", "\n", "  ", "\t"])


@st.composite
def block_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORD, min_size=1, max_size=80))
    seps = draw(st.lists(SEPARATOR, min_size=len(words), max_size=len(words)))
    text = "".join(w + s for w, s in zip(words, seps, strict=True)).strip()
    if draw(st.booleans()):
        text += draw(st.text(alphabet="abcdefghij", min_size=1, max_size=200))  # no spaces
    return text


@st.composite
def books(draw: st.DrawFn) -> list[Block]:
    texts = draw(st.lists(block_texts(), min_size=1, max_size=30))
    blocks: list[Block] = []
    chapter = 0
    for index, text in enumerate(texts):
        if index and draw(st.integers(0, 4)) == 0:
            chapter += 1
        kind = "heading" if draw(st.integers(0, 5)) == 0 else "paragraph"
        blocks.append(Block(index, chapter, kind, text))
    return blocks


@settings(max_examples=200, deadline=None)
@given(
    blocks=books(),
    segment_size=st.integers(min_value=1, max_value=3000),
    unit_size=st.integers(min_value=1, max_value=1500),
)
def test_plan_properties(blocks: list[Block], segment_size: int, unit_size: int) -> None:
    segments = plan_segments(blocks, segment_size=segment_size, unit_size=unit_size)
    check_plan(blocks, segments, segment_size, unit_size)
    assert sum(len(s.units) for s in segments) >= 1
