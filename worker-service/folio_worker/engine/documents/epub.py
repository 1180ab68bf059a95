"""EPUB books: one chapter per linear spine document, blocks anchored for the assembler."""

from __future__ import annotations

from folio_worker.engine.documents.builder import DocumentBuilder
from folio_worker.engine.documents.epub_nav import Headings, unmatched_labels
from folio_worker.engine.documents.epub_package import (
    read_metadata,
    read_package,
    toc_labels,
)
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import Document
from folio_worker.engine.documents.placeholders import strip
from folio_worker.engine.documents.safezip import SafeZip
from folio_worker.engine.documents.xhtml import iter_text_blocks, load_xhtml


def block_anchor(path: str, ordinal: int) -> str:
    """The anchor of the ``ordinal``-th text block (see ``iter_text_blocks``) of ``path``."""
    return f"{path}#{ordinal}"


def split_anchor(anchor: str) -> tuple[str, int] | None:
    """Inverse of ``block_anchor``; None for anchors not made by it."""
    path, _, ordinal = anchor.rpartition("#")
    if not path or not ordinal.isdigit():
        return None
    return path, int(ordinal)


def parse_epub(data: bytes, limits: ParseLimits) -> Document:
    """Parse an EPUB 2 or 3 book."""
    archive = SafeZip(data, limits, "EPUB")
    package = read_package(archive)
    title, authors, language, metadata = read_metadata(package)
    labels = toc_labels(archive, package)
    builder = DocumentBuilder("epub", limits)
    headings = Headings()  # the source's, to tell which labels no heading will translate
    chapters: set[str] = set()
    for item in package.spine:
        path = item.path
        if path is None:
            continue
        chapters.add(path)
        blocks = list(iter_text_blocks(load_xhtml(archive.read(path), path)))
        heading = next((strip(block.text) for block in blocks if block.kind == "heading"), None)
        builder.start_chapter(heading or labels.get(path), source_ref=path)
        for ordinal, block in enumerate(blocks):
            builder.add(block.kind, block.text, anchor=block_anchor(path, ordinal))
            if block.kind == "heading":
                text = strip(block.text).strip()
                headings.add(path, block.element.get("id"), text, text)
    return builder.build(
        title=title,
        authors=authors,
        language=language,
        metadata=metadata,
        nav_labels=tuple(unmatched_labels(archive, package, headings, chapters)),
    )
