"""Turn a sequence of plain paragraphs into chapters and blocks.

TXT, PDF and heading-less DOCX files share the same convention-based chapter detection, so
it lives here once: a standalone heading-like paragraph opens a new chapter.
"""

from __future__ import annotations

from collections.abc import Iterable

from folio_worker.engine.documents.builder import DocumentBuilder
from folio_worker.engine.documents.headings import is_chapter_heading


def add_paragraphs(builder: DocumentBuilder, paragraphs: Iterable[str]) -> None:
    """Add paragraphs to ``builder``, opening a chapter at every detected chapter heading."""
    for paragraph in paragraphs:
        if is_chapter_heading(paragraph):
            builder.start_chapter(paragraph)
            builder.add("heading", paragraph)
        else:
            builder.add("paragraph", paragraph)
