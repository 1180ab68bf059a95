"""DOCX parsing with python-docx fixtures: styles make chapters, tables are read in order."""

from __future__ import annotations

import io

import docx
import pytest

from folio_worker.engine.documents import DocumentError, parse_document


def build_docx(headings: bool = True) -> bytes:
    document = docx.Document()
    props = document.core_properties
    props.title = "The Word Book"
    props.author = "Ann Author; Bob Writer"
    props.language = "fr-FR"
    props.subject = "Testing"
    if headings:
        document.add_paragraph("The Word Book", style="Title")
        document.add_paragraph("Front matter paragraph.")
        document.add_heading("Chapter One", level=1)
    else:
        document.add_paragraph("Chapter 1")
    document.add_paragraph("First paragraph of chapter one.")
    document.add_paragraph("")
    document.add_heading("A Section", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "1" if not headings else "Cell A1"
    table.cell(0, 1).text = "Cell B1"
    table.cell(1, 0).text = "Cell A2"
    merged = table.cell(1, 1)
    merged.text = "Cell B2"
    paragraph = document.add_paragraph("Bold ")
    paragraph.add_run("and italic").italic = True
    paragraph.add_run(" text.")
    if headings:
        document.add_heading("Chapter Two", level=1)
    else:
        document.add_paragraph("Chapter 2")
    document.add_paragraph("Second chapter text.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_structure_and_metadata() -> None:
    book = parse_document(build_docx(), "book.docx")
    assert book.format == "docx"
    assert book.title == "The Word Book"
    assert book.authors == ("Ann Author", "Bob Writer")
    assert book.language == "fr-FR"
    assert book.metadata["subject"] == "Testing"
    assert [c.title for c in book.chapters] == ["The Word Book", "Chapter One", "Chapter Two"]
    got = [(b.chapter, b.kind, b.text) for b in book.blocks]
    assert got == [
        (0, "heading", "The Word Book"),
        (0, "paragraph", "Front matter paragraph."),
        (1, "heading", "Chapter One"),
        (1, "paragraph", "First paragraph of chapter one."),
        (1, "heading", "A Section"),
        (1, "paragraph", "Cell A1"),
        (1, "paragraph", "Cell B1"),
        (1, "paragraph", "Cell A2"),
        (1, "paragraph", "Cell B2"),
        (1, "paragraph", "Bold and italic text."),
        (2, "heading", "Chapter Two"),
        (2, "paragraph", "Second chapter text."),
    ]


def test_docx_without_heading_styles_uses_chapter_patterns() -> None:
    book = parse_document(build_docx(headings=False), "plain.DOCX")
    assert [c.title for c in book.chapters] == ["Chapter 1", "Chapter 2"]
    assert "1" in [b.text for b in book.blocks if b.kind == "paragraph"]  # a cell, not a chapter


def test_truncated_docx_is_corrupt() -> None:
    data = build_docx()
    with pytest.raises(DocumentError, match=r"corrupt|not a Word"):
        parse_document(data[: len(data) // 2], "cut.docx")


def test_docx_without_document_part_is_refused() -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(DocumentError, match=r"named \.docx but is not a Word document"):
        parse_document(out.getvalue(), "fake.docx")
