"""Plain-text outputs: translated blocks, chapter spacing, bilingual layout, missing blocks."""

from __future__ import annotations

import pytest

from folio.contracts import (
    AssemblySegment,
    AssemblySnapshot,
    JobPlan,
    PlannedUnit,
    SegmentPlan,
    UnitPiece,
)
from folio_worker.assembly import block_translations, translated_units
from folio_worker.engine.documents import build_outputs, parse_document
from folio_worker.engine.languages import word_joiner
from folio_worker.plans import PlanUnavailable

SOURCE = b"Preface.\n\nChapter 1\n\nOne.\n\nTwo.\n\nChapter 2\n\nThree.\n"


def test_txt_output_layout() -> None:
    book = parse_document(SOURCE, "b.txt")
    translations = {b.index: f"[{b.text}]" for b in book.blocks}
    outputs = build_outputs(SOURCE, book, translations, target_language="ko")
    assert set(outputs) == {"txt"}
    assert outputs["txt"].decode() == (
        "[Preface.]\n\n\n[Chapter 1]\n\n[One.]\n\n[Two.]\n\n\n[Chapter 2]\n\n[Three.]\n"
    )


def test_missing_translations_keep_the_source_and_merged_ones_are_not_repeated() -> None:
    book = parse_document(SOURCE, "b.txt")
    # Block 2 ("One.") has no translation yet; the model merged "Two." (3) into the
    # translation of "Chapter 1" (1), which leaves block 3 blank.
    translations = {0: "  서문.  ", 1: "1장. 둘.", 3: "   "}
    outputs = build_outputs(SOURCE, book, translations, target_language="ko", bilingual=True)
    assert set(outputs) == {"txt", "bilingual_txt"}
    assert outputs["txt"].decode().startswith("서문.\n\n\n1장. 둘.\n\nOne.\n\n\nChapter 2")
    assert "Two." not in outputs["txt"].decode()
    assert outputs["bilingual_txt"].decode() == (
        "Preface.\n서문.\n\n\nChapter 1\n1장. 둘.\n\nOne.\n\nTwo.\n\n\nChapter 2\n\nThree.\n"
    )


def test_bilingual_txt_pairs_source_and_translation() -> None:
    book = parse_document(b"Hello.\n\nWorld.", "b.md")
    outputs = build_outputs(
        b"", book, {0: "안녕.", 1: "세계."}, target_language="ko", bilingual=True
    )
    assert outputs["bilingual_txt"].decode() == "Hello.\n안녕.\n\nWorld.\n세계.\n"
    assert "epub" not in outputs


def test_pieces_of_one_paragraph_join_as_the_target_language_writes() -> None:
    # One long paragraph (block 0) was translated in two units.
    units = [
        (
            PlannedUnit(index=0, text="The first", pieces=[UnitPiece(block=0, part=0, parts=2)]),
            "앞부분이다.",
        ),
        (
            PlannedUnit(index=1, text="the second.", pieces=[UnitPiece(block=0, part=1, parts=2)]),
            "뒷부분이다.",
        ),
    ]
    korean, chinese = word_joiner("Korean"), word_joiner("zh-CN")
    assert block_translations(units, joiner=korean) == {0: "앞부분이다. 뒷부분이다."}
    assert block_translations(units, joiner=chinese) == {0: "앞부분이다.뒷부분이다."}
    assert word_joiner("ja") == "" and word_joiner("ko") == word_joiner("fr") == " "


def test_the_plan_says_where_each_translated_unit_goes() -> None:
    first = PlannedUnit(index=0, text="One.", pieces=[UnitPiece(block=0, part=0, parts=1)])
    second = PlannedUnit(index=1, text="Two.", pieces=[UnitPiece(block=1, part=0, parts=1)])
    third = PlannedUnit(index=2, text="Three.", pieces=[UnitPiece(block=2, part=0, parts=1)])
    plan = JobPlan(
        job_id=1, segments={0: SegmentPlan(units=[first, second]), 1: SegmentPlan(units=[third])}
    )
    snapshot = AssemblySnapshot(
        job_id=1,
        plan_key="jobs/1/plan/plan.json",
        segments=[
            AssemblySegment(
                index=0, source_text="One.\n\nTwo.", unit_translations=["하나.", "둘."]
            ),
            AssemblySegment(index=1, source_text="Three."),  # not translated (a failed job)
        ],
    )
    pairs = list(translated_units(snapshot, plan))
    assert pairs == [(first, "하나."), (second, "둘.")]
    assert block_translations(pairs, joiner=" ") == {0: "하나.", 1: "둘."}

    other = JobPlan(job_id=1, segments={0: SegmentPlan(units=[first, second])})
    with pytest.raises(PlanUnavailable, match="no segment 1"):
        list(translated_units(snapshot, other))
