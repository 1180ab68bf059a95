"""Plain-text books: decode, strip Gutenberg boilerplate, re-flow, detect chapters."""

from __future__ import annotations

from folio_worker.engine.documents.builder import DocumentBuilder
from folio_worker.engine.documents.decode import decode_text
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import Document
from folio_worker.engine.documents.plaintext import add_paragraphs
from folio_worker.engine.documents.reflow import reflow, split_paragraphs, strip_gutenberg
from folio_worker.engine.documents.textutil import normalize_newlines


def parse_txt(data: bytes, limits: ParseLimits) -> Document:
    """Parse a plain-text book."""
    text = normalize_newlines(decode_text(data))
    body, header = strip_gutenberg(text)
    builder = DocumentBuilder("txt", limits)
    add_paragraphs(builder, reflow(split_paragraphs(body)))
    metadata = {"gutenberg_language": header.language} if header.language else {}
    return builder.build(
        title=header.title,
        authors=(header.author,) if header.author else (),
        metadata=metadata,
    )
