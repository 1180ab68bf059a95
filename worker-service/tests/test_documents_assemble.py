"""Plain-text outputs: translated blocks, chapter spacing, bilingual layout, missing blocks."""

from __future__ import annotations

from folio_worker.engine.documents import build_outputs, parse_document

SOURCE = b"Preface.\n\nChapter 1\n\nOne.\n\nTwo.\n\nChapter 2\n\nThree.\n"


def test_txt_output_layout() -> None:
    book = parse_document(SOURCE, "b.txt")
    translations = {b.index: f"[{b.text}]" for b in book.blocks}
    outputs = build_outputs(SOURCE, book, translations, target_language="ko")
    assert set(outputs) == {"txt"}
    assert outputs["txt"].decode() == (
        "[Preface.]\n\n\n[Chapter 1]\n\n[One.]\n\n[Two.]\n\n\n[Chapter 2]\n\n[Three.]\n"
    )


def test_missing_and_blank_translations_fall_back_to_source() -> None:
    book = parse_document(SOURCE, "b.txt")
    translations = {0: "  서문.  ", 2: "   "}
    outputs = build_outputs(SOURCE, book, translations, target_language="ko", bilingual=True)
    assert set(outputs) == {"txt", "bilingual_txt"}
    assert outputs["txt"].decode().startswith("서문.\n\n\nChapter 1\n\nOne.\n\nTwo.")
    assert outputs["bilingual_txt"].decode() == (
        "Preface.\n서문.\n\n\nChapter 1\n\nOne.\n\nTwo.\n\n\nChapter 2\n\nThree.\n"
    )


def test_bilingual_txt_pairs_source_and_translation() -> None:
    book = parse_document(b"Hello.\n\nWorld.", "b.md")
    outputs = build_outputs(
        b"", book, {0: "안녕.", 1: "세계."}, target_language="ko", bilingual=True
    )
    assert outputs["bilingual_txt"].decode() == "Hello.\n안녕.\n\nWorld.\n세계.\n"
    assert "epub" not in outputs
