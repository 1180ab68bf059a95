"""Context between units: unit size from the job and the model, neighbouring source in
proportion, chapter summaries and speech as of the chapter in the prompts."""

from __future__ import annotations

from folio.contracts import NarrativeStyle, PlannedUnit, SegmentContext, UnitPiece
from folio.contracts.providers import ProviderConfig
from folio_worker.engine.prompts import translation_prompt
from folio_worker.engine.sizing import model_window, neighbour_sizes, unit_size
from folio_worker.engine.translator import unit_requests
from folio_worker.engine.work import SegmentWork


def config(model: str, **extra) -> ProviderConfig:
    return ProviderConfig(provider="openai", model=model, api_keys=("k",), **extra)


def test_units_follow_the_segment_size_up_to_the_ceiling():
    big = model_window(config("gemini-2.5-flash"))
    assert (
        unit_size(
            segment_size=1200,
            ceiling=2500,
            window=big,
            source_script="latin",
            target_script="hangul",
        )
        == 1200
    )
    assert (
        unit_size(
            segment_size=15000,
            ceiling=2500,
            window=big,
            source_script="latin",
            target_script="hangul",
        )
        == 2500
    )
    assert (
        unit_size(
            segment_size=15000,
            ceiling=8000,
            window=big,
            source_script="latin",
            target_script="hangul",
        )
        == 8000
    )


def test_units_shrink_to_a_small_context_window():
    small = model_window(config("llama3", context_window=2048, max_output_tokens=1024))
    assert small == (2048, 1024)
    size = unit_size(
        segment_size=15000,
        ceiling=2500,
        window=small,
        source_script="latin",
        target_script="hangul",
    )
    assert 300 <= size < 2500
    # The prompt (about twice the unit) and the answer fit the window.
    assert size * 2 * 1.05 / 4 + size * 0.5 * 2.85 / 4 < 2048
    # A dense source takes more of the window per character than an alphabetic one.
    chinese = unit_size(
        segment_size=15000, ceiling=2500, window=small, source_script="han", target_script="latin"
    )
    assert chinese < size


def test_neighbouring_text_is_in_proportion_to_the_units():
    assert neighbour_sizes(2500) == (625, 312)
    assert neighbour_sizes(400) == (200, 100)
    text = "word " * 2000
    units = [
        PlannedUnit(index=i, text=text[:4000], pieces=[UnitPiece(block=i, part=0, parts=1)])
        for i in range(2)
    ]
    requests = unit_requests(SegmentWork(target_language="ko", units=units))
    assert 950 <= len(requests[1].previous_source) <= 1000
    assert requests[0].next_source and len(requests[0].next_source) <= 500


def test_the_chapter_summary_is_context_in_default_mode_only():
    def prompt(turbo: bool) -> str:
        return translation_prompt(
            source_text="He left.",
            target_language="de",
            source_language="en",
            paragraphs=1,
            style=NarrativeStyle(),
            glossary=[],
            characters=[],
            deviation=None,
            previous_source="",
            next_source="",
            previous_translation="",
            turbo=turbo,
            chapter_summary="Will arrives in Los Angeles.",
        )

    default = prompt(False)
    assert "Will arrives in Los Angeles." in default
    assert default.index("Will arrives") < default.index("<source>")
    assert "Will arrives" not in prompt(True)
    assert SegmentContext().chapter_summary == ""
