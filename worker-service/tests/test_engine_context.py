"""Context between units: neighbouring source in proportion to the units (their size is
tested in test_unit_sizing.py), chapter summaries and speech as of the chapter in the prompts."""

from __future__ import annotations

from folio.contracts import (
    Character,
    GlossaryEntry,
    NarrativeStyle,
    PlannedUnit,
    SegmentContext,
    SpeechStyle,
    UnitPiece,
)
from folio_worker.engine.context import speech_at
from folio_worker.engine.prompts import formality_hint
from folio_worker.engine.sizing import neighbour_sizes
from folio_worker.engine.translator import build_prompt, glossary_reminder, unit_requests
from folio_worker.engine.work import SegmentWork


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
        work = SegmentWork(
            target_language="de",
            source_language="en",
            mode="turbo" if turbo else "default",
            style=NarrativeStyle(),
            units=[
                PlannedUnit(index=0, text="He left.", pieces=[UnitPiece(block=0, part=0, parts=1)])
            ],
            context=SegmentContext(chapter_summary="Will arrives in Los Angeles."),
        )
        (request,) = unit_requests(work)
        return build_prompt(work, request, request.unit.text)

    default = prompt(False)
    assert "Will arrives in Los Angeles." in default
    # Per chapter, so after the job-constant prefix.
    assert default.index("</target_language>") < default.index("Will arrives")
    assert default.index("Will arrives") < default.index("<source>")
    assert "Will arrives" not in prompt(True)
    assert SegmentContext().chapter_summary == ""


def _work(chapter: int, *, book: list[Character], text: str) -> SegmentWork:
    """A segment's work as the plan gives it: the book's characters, and the segment's
    own as of its chapter."""
    return SegmentWork(
        target_language="de",
        source_language="en",
        units=[PlannedUnit(index=chapter, text=text, pieces=[UnitPiece(block=0, part=0, parts=1)])],
        context=SegmentContext(characters=[speech_at(c, chapter) for c in book]),
        book_characters=book,
    )


def test_a_change_of_speech_goes_with_the_chapters_calls_not_into_the_job_prefix():
    will = Character(
        name="Will",
        speaks_to=[
            SpeechStyle(listener="Margaret", formality="formal"),
            SpeechStyle(listener="Margaret", formality="intimate", from_chapter=2),
        ],
    )
    early, late = (
        _work(chapter, book=[will], text="Will smiled at Margaret.") for chapter in (0, 3)
    )
    assert early.prefix == late.prefix  # the same bytes in every call of the job
    assert "Will" in early.prefix and "intimate" not in early.prefix
    (request,) = unit_requests(late)
    prompt = build_prompt(late, request, request.unit.text)
    own = prompt[len(late.prefix) :]
    assert "How they speak in this chapter" in own
    assert formality_hint("de", "intimate") in own


def test_a_glossary_reminder_keeps_the_job_prefix():
    work = SegmentWork(
        target_language="de",
        units=[
            PlannedUnit(index=0, text="Gregor woke.", pieces=[UnitPiece(block=0, part=0, parts=1)])
        ],
        book_glossary=[GlossaryEntry(term="Gregor", translation="Gregorius")],
    )
    (request,) = unit_requests(work)
    prompt = build_prompt(work, request, request.unit.text)
    retry = glossary_reminder(prompt, [GlossaryEntry(term="Gregor", translation="Gregorius")])
    assert retry.startswith(work.prefix)
    assert retry.index("did not use these glossary renderings") < retry.index("<source>")
