"""PDF parsing from reportlab fixtures: page furniture removed, paragraphs recovered, chapters."""

from __future__ import annotations

import io

import pytest
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.pdfgen import canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

from folio_worker.engine.documents import DocumentError, parse_document

WORDS = (
    "gregor woke from troubled dreams and found himself changed into a strange creature "
    "lying on his hard back while the rain kept falling against the window of the small room "
    "his sister came to the door twice and the chief clerk waited in the hall below"
).split()


def sentence(seed: int, length: int) -> str:
    words = [WORDS[(seed * 7 + i * 3) % len(WORDS)] for i in range(length)]
    return " ".join(words).capitalize() + "."


def paragraph_text(chapter: int, number: int) -> str:
    return f"Paragraph {chapter}.{number}. " + " ".join(
        sentence(chapter * 100 + number * 10 + k, 12 + k) for k in range(4)
    )


def build_pdf(*, indent: bool, chapters: int = 3, paragraphs: int = 5) -> bytes:
    styles = getSampleStyleSheet()
    body = ParagraphStyle(
        "body",
        parent=styles["BodyText"],
        firstLineIndent=18 if indent else 0,
        spaceBefore=0 if indent else 8,
    )

    def furniture(c: canvas.Canvas, doc: SimpleDocTemplate) -> None:
        c.setFont("Helvetica", 8)
        c.drawString(40, A5[1] - 30, "THE TEST NOVEL")
        c.drawCentredString(A5[0] / 2, 20, str(doc.page))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A5, title="The Test Novel", author="Jane Doe")
    story = []
    for chapter in range(1, chapters + 1):
        story.append(Paragraph(f"Chapter {chapter}", styles["Heading1"]))
        story.extend(Paragraph(paragraph_text(chapter, n), body) for n in range(paragraphs))
        story.append(PageBreak())
    doc.build(story, onFirstPage=furniture, onLaterPages=furniture)
    return out.getvalue()


@pytest.mark.parametrize("indent", [True, False], ids=["first-line-indent", "paragraph-gap"])
def test_pdf_paragraphs_chapters_and_furniture(indent: bool) -> None:
    book = parse_document(build_pdf(indent=indent), "novel.pdf")
    assert book.format == "pdf"
    assert book.title == "The Test Novel" and book.authors == ("Jane Doe",)
    assert [c.title for c in book.chapters] == ["Chapter 1", "Chapter 2", "Chapter 3"]
    expected = []
    for chapter in range(1, 4):
        expected.append(f"Chapter {chapter}")
        expected.extend(paragraph_text(chapter, n) for n in range(5))
    assert [b.text for b in book.blocks] == expected
    assert "THE TEST NOVEL" not in book.text()


def test_pdf_page_numbers_across_many_pages_are_dropped() -> None:
    book = parse_document(build_pdf(indent=True, chapters=2, paragraphs=14), "long.pdf")
    assert all(not b.text.isdigit() for b in book.blocks)
    assert [b.text for b in book.blocks if b.kind == "heading"] == ["Chapter 1", "Chapter 2"]
    # Paragraphs that continue on the next page are joined back into one block.
    assert all(b.text.endswith(".") for b in book.blocks if b.kind == "paragraph")
    assert len(book.blocks) == 2 + 2 * 14


def test_pdf_without_text_layer_is_refused() -> None:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A5)
    c.rect(50, 50, 200, 300, fill=1)
    c.showPage()
    c.save()
    with pytest.raises(DocumentError, match="no text layer"):
        parse_document(out.getvalue(), "scan.pdf")


def test_encrypted_pdf_is_refused() -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A5, encrypt=StandardEncryption("secret", canPrint=0))
    c.drawString(50, 500, "Top secret text.")
    c.showPage()
    c.save()
    with pytest.raises(DocumentError, match="encrypted"):
        parse_document(out.getvalue(), "locked.pdf")


def test_pdf_page_limit() -> None:
    from folio_worker.engine.documents import ParseLimits

    with pytest.raises(DocumentError, match="too many pages"):
        parse_document(build_pdf(indent=True), "novel.pdf", ParseLimits(max_pdf_pages=2))


def build_lines_pdf(pages: list[list[str]], *, furniture: bool) -> bytes:
    """Pages of single lines drawn where they are, with an optional running header and page
    number on every page."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A5)
    for number, lines in enumerate(pages, start=1):
        if furniture:
            c.setFont("Helvetica", 8)
            c.drawString(40, A5[1] - 30, "A YEAR OF WEATHER")
            c.drawCentredString(A5[0] / 2, 20, str(number))
        c.setFont("Helvetica", 11)
        y = A5[1] - 70
        for line in lines:
            c.drawString(40, y, line)
            y -= 28
        c.showPage()
    c.save()
    return out.getvalue()


DIARY_DAYS = (3, 5, 8, 11, 14, 17, 19, 22, 24, 25)


@pytest.mark.parametrize("furniture", [False, True], ids=["bare-page", "with-header-and-number"])
@pytest.mark.parametrize("page_count", [1, 4])
def test_pdf_lines_that_differ_only_in_digits_are_all_kept(
    furniture: bool, page_count: int
) -> None:
    pages = [
        [f"Day {day + 31 * page}: rain again, {day} mm." for day in DIARY_DAYS]
        for page in range(page_count)
    ]
    book = parse_document(build_lines_pdf(pages, furniture=furniture), "diary.pdf")
    text = book.text()
    for lines in pages:
        for line in lines:
            assert line in text
    assert text.count("rain again") == 10 * page_count
    if furniture and page_count >= 3:  # real furniture still goes
        assert "A YEAR OF WEATHER" not in text
