"""A job's unit size is the plan's decision: the smallest that keeps the key's concurrency
busy in about one wave, held above a floor set by the job's prompt prefix and below a
quality ceiling, the segment size and what the model can take; FOLIO_UNIT_SIZE only as an
operator's override."""

from __future__ import annotations

import pytest

from folio.contracts.providers import ProviderConfig
from folio_worker.engine.documents.model import Block
from folio_worker.engine.segmentation import plan_segments
from folio_worker.engine.sizing import (
    QUALITY_ANSWER_TOKENS,
    Scripts,
    largest_unit,
    model_window,
    parallel_unit,
)

BIG = model_window(ProviderConfig(provider="openai", model="gemini-2.5-flash", api_keys=("k",)))
EN_KO = Scripts("latin", "hangul")


def book(chars: int, paragraph: int = 900, chapters: int = 3) -> list[list[int]]:
    per_chapter = chars // chapters
    return [[paragraph] * max(1, per_chapter // paragraph) for _ in range(chapters)]


def blocks_of(chapters: list[list[int]]) -> list[Block]:
    sentence = "Gregor looked at the window and said nothing at all. "
    out = []
    for chapter, lengths in enumerate(chapters):
        for length in lengths:
            text = (sentence * (length // len(sentence) + 1))[:length].strip()
            out.append(Block(index=len(out), chapter=chapter, kind="paragraph", text=text))
    return out


def size(chapters, **overrides):  # type: ignore[no-untyped-def]
    settings = {
        "concurrency": 64,
        "unit_concurrency": 16,
        "segment_size": 15_000,
        "window": BIG,
        "scripts": EN_KO,
        "prefix_tokens": 2_000,
    }
    return parallel_unit(chapters, **{**settings, **overrides})


def units(chapters: list[list[int]], chars: int, segment_size: int = 15_000) -> int:
    segments = plan_segments(blocks_of(chapters), segment_size=segment_size, unit_size=chars)
    return sum(len(s.units) for s in segments)


@pytest.mark.parametrize("concurrency", [48, 64, 128])
def test_a_book_gets_about_one_wave_of_units_and_no_smaller(concurrency: int) -> None:
    chapters = book(150_000)
    chosen = size(chapters, concurrency=concurrency, prefix_tokens=500)
    assert chosen.reason == "one_wave"
    # The segmenter's real packing keeps every call of the wave busy at once...
    assert units(chapters, chosen.chars) <= concurrency
    # ...and a tenth smaller would already need a second wave (or nearly all of it).
    assert units(chapters, int(chosen.chars * 0.9)) > concurrency * 0.95


def test_a_longer_book_or_a_narrower_key_gets_larger_units() -> None:
    short, long = size(book(100_000)), size(book(300_000))
    assert short.chars < long.chars
    assert size(book(300_000), concurrency=16).chars > long.chars


def test_a_short_book_is_not_cut_into_calls_dwarfed_by_the_prompt_prefix() -> None:
    chosen = size(book(20_000), prefix_tokens=2_400)
    assert chosen.reason == "prompt_prefix"
    # Own source tokens (4 bytes a token, 1.05 bytes a Latin character) ≥ prefix / 4.
    assert chosen.chars * 1.05 / 4 >= 2_400 / 4
    # A bigger prefix (a larger glossary) makes units larger, hence fewer of them.
    assert size(book(20_000), prefix_tokens=4_000).chars > chosen.chars
    # A denser source script needs fewer characters for the same tokens.
    han = size(book(20_000), prefix_tokens=2_400, scripts=Scripts("han", "latin"))
    assert han.chars < chosen.chars


def test_a_narrow_key_is_held_to_the_quality_ceiling() -> None:
    chosen = size(book(500_000), concurrency=4)
    assert chosen.reason == "quality_ceiling"
    answer_tokens = chosen.chars * EN_KO.answer_bytes / 4
    assert QUALITY_ANSWER_TOKENS * 0.95 <= answer_tokens <= QUALITY_ANSWER_TOKENS
    # The ceiling is on the answer: a target that writes longer gets shorter units.
    assert size(book(500_000), concurrency=4, scripts=Scripts("han", "latin")).chars < (
        chosen.chars
    )


def test_the_segment_size_and_the_model_bound_the_unit() -> None:
    capped = size(book(500_000), concurrency=4, segment_size=1_200)
    assert (capped.chars, capped.reason) == (1_200, "segment_size")
    small = model_window(
        ProviderConfig(
            provider="openai",
            model="llama3",
            api_keys=("k",),
            context_window=2048,
            max_output_tokens=1024,
        )
    )
    assert small == (2048, 1024)
    tight = size(book(500_000), concurrency=4, window=small)
    assert tight.reason == "model_window" and 300 <= tight.chars < 1_200
    # The prompt (about twice the unit) and the answer fit the window.
    assert tight.chars * 2 * 1.05 / 4 + tight.chars * EN_KO.answer_bytes / 4 < 2048
    # An output limit that is small against the window bounds the answer instead.
    narrow_output = size(book(500_000), concurrency=4, window=(128_000, 1_000))
    assert narrow_output.reason == "model_output"
    assert narrow_output.chars * EN_KO.answer_bytes / 4 <= 1_000 * 0.6
    # A segment's units beyond what it runs at once would queue: they grow instead.
    free = size(book(100_000), segment_size=20_000)
    queued = size(book(100_000), segment_size=20_000, unit_concurrency=4)
    assert queued.reason == "one_wave" and queued.chars > free.chars
    segments = plan_segments(blocks_of(book(100_000)), segment_size=20_000, unit_size=queued.chars)
    assert max(len(s.units) for s in segments) <= 4


def test_the_operator_override_wins_within_the_model_and_segment_bounds() -> None:
    assert size(book(200_000), override=1_000).chars == 1_000
    assert size(book(200_000), override=1_000).reason == "operator"
    assert size(book(200_000), override=40_000).reason == "segment_size"
    whole = largest_unit(segment_size=15_000, window=BIG, scripts=EN_KO)
    assert (whole.chars, whole.reason) == (15_000, "segment_size")


def test_books_that_differ_by_a_line_get_the_same_units() -> None:
    # Sizes are rounded up to 100 characters, so an estimate of a book agrees with the job
    # of the same book with one more line or glossary entry.
    chapters = book(150_000)
    longer = [[*chapters[0], 40], *chapters[1:]]
    assert size(chapters).chars % 100 == 0
    assert size(chapters) == size(longer)
    assert size(book(20_000), prefix_tokens=2_400) == size(book(20_000), prefix_tokens=2_410)
