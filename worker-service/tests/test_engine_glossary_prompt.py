"""User glossary entries reach the prompt with what they say: kept terms, gender and notes."""

from __future__ import annotations

from folio.contracts import GlossaryEntry, PlannedUnit, SegmentContext, UnitPiece
from folio_worker.engine.translator import build_prompt, unit_requests
from folio_worker.engine.work import SegmentWork


def test_do_not_translate_gender_and_notes_are_in_the_prompt() -> None:
    text = "Gregor met the Prokurist at Samsa & Co."
    work = SegmentWork(
        target_language="ko",
        units=[PlannedUnit(index=0, text=text, pieces=[UnitPiece(block=0, part=0, parts=1)])],
        context=SegmentContext(
            glossary=[
                GlossaryEntry(term="Gregor", translation="그레고르", gender="male", note="the son"),
                GlossaryEntry(term="Samsa & Co.", translation="Samsa & Co.", do_not_translate=True),
            ]
        ),
    )
    [request] = unit_requests(work)
    prompt = build_prompt(work, request, text)
    assert "- Gregor => 그레고르 [male; the son]" in prompt
    assert "- Samsa & Co. => Samsa & Co. (keep exactly as written, do not translate)" in prompt
