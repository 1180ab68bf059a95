"""Rendering a translation as a PDF (ReportLab, BSD-licensed; one CJK-capable font).

Pure rendering: it gets the book's segments and writes a file. A title page, then each
chapter's heading where a chapter starts (its translation, when the chapter opens with its
heading, as parsed books do), and each segment's translation, optionally preceded by its
source text in a smaller, grey face. The document declares the target language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer

FONT_FILE = Path(__file__).parent / "fonts" / "FolioSansCJK.ttf"
FONT = "FolioSansCJK"
PageSize = Literal["A4", "Letter"]
PAGE_SIZES = {"A4": A4, "Letter": LETTER}


@dataclass(frozen=True)
class PdfSegment:
    translation: str
    source: str = ""
    chapter_title: str | None = None


@cache
def _font() -> str:
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    # CJK text has no spaces to break at: wordWrap="CJK" breaks between any characters.
    body = ParagraphStyle(
        "body", fontName=font, fontSize=10.5, leading=16, spaceAfter=6, wordWrap="CJK"
    )
    return {
        "title": ParagraphStyle(
            "title", fontName=font, fontSize=22, leading=30, alignment=1, wordWrap="CJK"
        ),
        "subtitle": ParagraphStyle(
            "subtitle", fontName=font, fontSize=11, leading=16, alignment=1, wordWrap="CJK"
        ),
        "chapter": ParagraphStyle(
            "chapter",
            fontName=font,
            fontSize=15,
            leading=22,
            spaceBefore=12,
            spaceAfter=10,
            wordWrap="CJK",
        ),
        "body": body,
        "source": ParagraphStyle(
            "source", parent=body, fontSize=9, leading=13, textColor=colors.HexColor("#666666")
        ),
    }


def _paragraphs(text: str, style: ParagraphStyle) -> list[Flowable]:
    parts = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n")]
    return [Paragraph(escape(p).replace("\n", "<br/>"), style) for p in parts if p]


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _heading(segment: PdfSegment) -> tuple[str, str, str]:
    """(heading, translation, source) of a segment that opens a chapter: a chapter that
    starts with its heading gives the heading's translation, taken out of the body."""
    title = segment.chapter_title or ""
    sources, translations = _split(segment.source), _split(segment.translation)
    if sources and translations and sources[0] == title.strip():
        return translations[0], "\n\n".join(translations[1:]), "\n\n".join(sources[1:])
    return title, segment.translation, segment.source


def render_pdf(
    path: Path,
    *,
    title: str,
    subtitle: str,
    segments: Iterable[PdfSegment],
    page_size: PageSize = "A4",
    include_source: bool = True,
    language: str | None = None,
) -> None:
    """Write the PDF to ``path`` (a blocking call: run it in a thread)."""
    styles = _styles()
    story: list[Flowable] = [
        Spacer(1, 60 * mm),
        Paragraph(escape(title), styles["title"]),
        Spacer(1, 8 * mm),
        Paragraph(escape(subtitle), styles["subtitle"]),
        PageBreak(),
    ]
    chapter: str | None = None
    for segment in segments:
        translation, source = segment.translation, segment.source
        if segment.chapter_title and segment.chapter_title != chapter:
            chapter = segment.chapter_title
            heading, translation, source = _heading(segment)
            story.append(Paragraph(escape(heading), styles["chapter"]))
        if include_source and source:
            story.extend(_paragraphs(source, styles["source"]))
            story.append(Spacer(1, 2 * mm))
        story.extend(_paragraphs(translation, styles["body"]))
        story.append(Spacer(1, 4 * mm))
    document = SimpleDocTemplate(
        str(path),
        pagesize=PAGE_SIZES[page_size],
        title=title,
        lang=language,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    document.build(story)
