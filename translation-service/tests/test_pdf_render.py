"""The translated PDF: chapter headings in the target language, the language declared."""

from __future__ import annotations

from pathlib import Path

import pypdf

from folio_translation.pdf import PdfSegment, render_pdf


def test_chapter_headings_are_translated_and_the_language_declared(tmp_path: Path) -> None:
    path = tmp_path / "book.pdf"
    segments = [
        PdfSegment(
            translation="제1장\n\n그레고르가 깨어났다.",
            source="Chapter One\n\nGregor woke up.",
            chapter_title="Chapter One",
        ),
        PdfSegment(translation="비가 내렸다.", source="It rained.", chapter_title="Chapter One"),
        # a chapter whose first block is not its heading keeps the title it has
        PdfSegment(translation="서문.", source="Foreword.", chapter_title="Preface"),
    ]
    render_pdf(
        path, title="책", subtitle="en → ko", segments=segments, include_source=False, language="ko"
    )
    reader = pypdf.PdfReader(path)
    text = "".join(page.extract_text() for page in reader.pages)
    assert "제1장" in text and "Chapter One" not in text
    assert text.count("제1장") == 1  # the heading is not repeated in the body
    assert "그레고르가 깨어났다." in text and "Preface" in text and "서문." in text
    assert reader.trailer["/Root"]["/Lang"] == "ko"

    render_pdf(path, title="책", subtitle="", segments=segments, include_source=True)
    both = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert "Gregor woke up." in both and both.count("Chapter One") == 0
