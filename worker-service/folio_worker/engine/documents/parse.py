"""The single entry point that turns an uploaded file into a Document.

It is synchronous and CPU-bound by design (the caller runs it in a subprocess with memory and
time limits) and it raises only DocumentError for bad input: library exceptions from corrupt
files are turned into one short, user-facing sentence.
"""

from __future__ import annotations

from collections.abc import Callable

from folio_worker.engine.documents.decode import NotTextError
from folio_worker.engine.documents.detect import (
    check_content,
    extension_of,
    format_from_filename,
    mismatch,
)
from folio_worker.engine.documents.docx import parse_docx
from folio_worker.engine.documents.epub import parse_epub
from folio_worker.engine.documents.limits import ParseLimits, check_input_size
from folio_worker.engine.documents.markdown import parse_markdown
from folio_worker.engine.documents.model import Document, DocumentError, DocumentFormat
from folio_worker.engine.documents.pdf import parse_pdf
from folio_worker.engine.documents.txt import parse_txt

Parser = Callable[[bytes, ParseLimits], Document]
PARSERS: dict[DocumentFormat, Parser] = {
    "txt": parse_txt,
    "md": parse_markdown,
    "docx": parse_docx,
    "epub": parse_epub,
    "pdf": parse_pdf,
}
EMPTY = "The book contains no text."
_MAX_REASON_CHARS = 160


def parse_document(data: bytes, filename: str, limits: ParseLimits = ParseLimits()) -> Document:
    """Parse an uploaded book; raises DocumentError with a user-facing reason for bad input."""
    fmt = format_from_filename(filename)
    check_input_size(data, limits)
    if not data.strip():
        raise DocumentError(EMPTY)
    check_content(fmt, data, extension_of(filename), limits)
    try:
        document = PARSERS[fmt](data, limits)
    except NotTextError:
        raise mismatch(fmt, extension_of(filename)) from None
    except DocumentError:
        raise
    except MemoryError:
        raise
    except RecursionError:
        raise DocumentError("The file looks corrupt: it is nested too deeply to read.") from None
    except Exception as exc:  # any library failure on hostile input is a corrupt file
        raise DocumentError(f"The file looks corrupt: {_short(exc)}") from None
    if not document.blocks:
        raise DocumentError(EMPTY)
    return document


def _short(exc: BaseException) -> str:
    """One line, no traceback: the exception message or, failing that, its type."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if len(message) > _MAX_REASON_CHARS:
        message = message[: _MAX_REASON_CHARS - 1] + "…"
    return message if message.endswith((".", "…")) else message + "."
