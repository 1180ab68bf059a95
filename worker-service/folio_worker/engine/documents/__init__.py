"""Book documents: parse uploads (TXT, Markdown, DOCX, EPUB, PDF) and assemble translations.

``parse_document`` turns untrusted bytes into a format-neutral ``Document`` of chapters and
blocks; ``build_outputs`` turns translated blocks back into downloadable files.
"""

from folio_worker.engine.documents.assemble import OutputKind, build_outputs
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import (
    Block,
    BlockKind,
    Chapter,
    Document,
    DocumentError,
    DocumentFormat,
)
from folio_worker.engine.documents.parse import parse_document
from folio_worker.engine.documents.xhtml import TextBlock, iter_text_blocks

__all__ = [
    "Block",
    "BlockKind",
    "Chapter",
    "Document",
    "DocumentError",
    "DocumentFormat",
    "OutputKind",
    "ParseLimits",
    "TextBlock",
    "build_outputs",
    "iter_text_blocks",
    "parse_document",
]
