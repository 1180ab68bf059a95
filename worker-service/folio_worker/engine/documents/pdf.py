"""PDF books via pypdf: the text layer, page furniture removed, re-flowed like plain text.

PDF has no paragraphs, only positioned lines. pypdf's text extraction is used line by line
together with where each line starts on the page, so paragraphs can be recovered from layout
the way a reader sees them: a larger vertical gap, a first-line indent, a change of font size,
or a short last line. Running headers and page numbers are removed first.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pypdf
from pypdf.errors import PdfReadError

from folio_worker.engine.documents.builder import DocumentBuilder
from folio_worker.engine.documents.headings import is_chapter_heading
from folio_worker.engine.documents.limits import ParseLimits, check_chars
from folio_worker.engine.documents.model import Document, DocumentError
from folio_worker.engine.documents.plaintext import add_paragraphs
from folio_worker.engine.documents.reflow import reflow, wrap_width
from folio_worker.engine.documents.textutil import normalize_newlines

NO_TEXT_LAYER = "The PDF has no text layer (it may be scanned images); OCR is not supported."
# Tighter than pypdf's defaults: a book page never needs 75 MB of decompressed stream.
_PYPDF_LIMITS: dict[str, Any] = {
    "maximum_declared_stream_length": 20_000_000,
    "zlib_maximum_output_length": 20_000_000,
    "lzw_maximum_output_length": 20_000_000,
    "run_length_maximum_output_length": 20_000_000,
    "jbig2_maximum_output_length": 20_000_000,
    "image_maximum_buffer_size": 20_000_000,
    "jbig2dec_binary": None,  # never start external programs on untrusted input
}
_DASH = "[-\u2013\u2014]"
_PAGE_NUMBER = re.compile(
    rf"^(?:{_DASH}\s*\d{{1,4}}\s*{_DASH}|(?:page|p\.)\s*\d{{1,4}}(?:\s*(?:of|/)\s*\d{{1,4}})?"
    r"|\d{1,4}\s*(?:of|/)\s*\d{1,4}|[ivxlc]{1,7})$",
    re.IGNORECASE,
)
_BARE_NUMBER = re.compile(r"^\d{1,4}$")
_SENTENCE_END = re.compile("[.!?:\u2026\u3002\uff01\uff1f\u201d\u2019\"')\\]]$")
_PARAGRAPH_END_RATIO = 0.7
_SENTENCE_END_RATIO = 0.85
_FURNITURE_MIN_PAGES = 3
_EDGE_LINES = 2
_INDENT_EMS = 0.8  # a first-line indent is at least this many font sizes
_GAP_RATIO = 1.35  # a paragraph gap is this much larger than the usual line spacing
_SIZE_TOLERANCE = 0.6


def parse_pdf(data: bytes, limits: ParseLimits) -> Document:
    """Parse a PDF book from its text layer."""
    with _pypdf_limits(), _quiet_pypdf():
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            _refuse_encrypted(reader)
            page_count = len(reader.pages)
            if page_count > limits.max_pdf_pages:
                raise DocumentError(
                    f"The PDF has too many pages ({page_count:,}; "
                    f"the limit is {limits.max_pdf_pages:,})."
                )
            pages = list(_page_lines(reader, limits))
            title, authors, language = _metadata(reader)
        except DocumentError:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise DocumentError(f"The file looks corrupt: unreadable PDF ({exc}).") from None
    lines = _drop_furniture(pages)
    if not lines:
        raise DocumentError(NO_TEXT_LAYER)
    builder = DocumentBuilder("pdf", limits)
    add_paragraphs(builder, reflow(_paragraphs(lines)))
    return builder.build(title=title, authors=authors, language=language)


@contextlib.contextmanager
def _pypdf_limits() -> Iterator[None]:
    """Apply tighter decompression limits when the installed pypdf supports them."""
    apply = getattr(pypdf, "apply_configuration", None)
    configuration = getattr(pypdf, "Configuration", None)
    if apply is None or configuration is None:
        yield
        return
    known = set(getattr(configuration, "__dataclass_fields__", {}))
    with apply(**{k: v for k, v in _PYPDF_LIMITS.items() if k in known}):
        yield


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every quirk of a malformed file; the user gets one reason."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _refuse_encrypted(reader: pypdf.PdfReader) -> None:
    """Open PDFs that only restrict printing (empty user password); refuse the others."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except Exception:  # any failure to decrypt means we cannot read it
        opened = 0
    if not opened:
        raise DocumentError(
            "The PDF is encrypted (password-protected); please upload an unprotected copy."
        )


@dataclass
class _Line:
    """One extracted line and where it starts; ``y`` is None when the position is unknown."""

    page: int
    text: str
    x: float = 0.0
    y: float | None = None
    size: float = 0.0


def _page_lines(reader: pypdf.PdfReader, limits: ParseLimits) -> Iterator[list[_Line]]:
    chars = 0
    for number, page in enumerate(reader.pages):
        lines = _extract_lines(page, number)
        chars += sum(len(line.text) + 1 for line in lines)
        check_chars(chars, limits)
        yield lines


def _extract_lines(page: pypdf.PageObject, number: int) -> list[_Line]:
    """Lines of one page with the position of their first text chunk (pypdf's visitor)."""
    lines: list[_Line] = []
    pending: list[str] = []
    start: tuple[float, float, float] | None = None

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], _font: Any, size: float) -> None:
        nonlocal start
        if not text:
            return
        segments = normalize_newlines(text).split("\n")
        for i, segment in enumerate(segments):
            if segment.strip() and start is None and i == 0:
                x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
                y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
                start = (x, y, abs(size * (tm[3] * cm[3] or 1.0)))
            pending.append(segment)
            if i < len(segments) - 1:
                _close_line(lines, pending, start, number)
                pending.clear()
                start = None

    page.extract_text(visitor_text=visit)
    if pending:
        _close_line(lines, pending, start, number)
    return lines


def _close_line(
    lines: list[_Line], parts: list[str], start: tuple[float, float, float] | None, page: int
) -> None:
    text = "".join(parts).strip()
    if start is None:
        lines.append(_Line(page, text))
    else:
        lines.append(_Line(page, text, start[0], start[1], start[2]))


def _metadata(reader: pypdf.PdfReader) -> tuple[str | None, tuple[str, ...], str | None]:
    try:
        info = reader.metadata
        title = str(info.title) if info and info.title else None
        author = str(info.author) if info and info.author else ""
        lang = reader.trailer["/Root"].get("/Lang")
    except Exception:  # metadata is optional; a broken info dictionary must not sink the book
        return None, (), None
    authors = tuple(a.strip() for a in re.split(r";|,| and ", author) if a.strip())
    return title, authors, str(lang) if lang else None


def _drop_furniture(pages: list[list[_Line]]) -> list[_Line]:
    """Concatenate pages without page numbers and running headers/footers.

    Lines near the top or bottom of a page are furniture when their shape (digits ignored)
    recurs at the same edge on many pages, when they are formatted as a page number, or when
    they are a bare number following the page sequence. A shape counts once per page and only
    where it is unique on that page: lines that differ only in their numbers ("Day 11",
    "Day 24", …) on one page are body text, never a running header. A heading-like running
    header ("CHAPTER III" on every page of that chapter) is kept the first time only, so it
    still opens its chapter once.
    """
    texts = [[line.text for line in lines] for lines in pages]
    edges: Counter[tuple[str, str]] = Counter()
    for lines in texts:
        unique = _unique_shapes(lines)
        seen = {
            (zone, _shape(lines[position]))
            for position, zone in _edge_positions(lines).items()
            if _shape(lines[position]) in unique and not is_chapter_heading(lines[position])
        }
        edges.update(seen)
    threshold = max(_FURNITURE_MIN_PAGES, len(pages) * 0.4)
    repeated = {key for key, count in edges.items() if count >= threshold}
    offset = _page_number_offset(texts)
    last_heading: str | None = None
    out: list[_Line] = []
    for page_index, lines in enumerate(pages):
        edge_positions = _edge_positions(texts[page_index])
        unique = _unique_shapes(texts[page_index])
        for position, line in enumerate(lines):
            text = line.text
            if not text:
                continue
            zone = edge_positions.get(position)
            if zone is not None:
                if is_chapter_heading(text) and not _BARE_NUMBER.match(text):
                    if text.lower() == last_heading:
                        continue
                    last_heading = text.lower()
                elif (
                    (_shape(text) in unique and (zone, _shape(text)) in repeated)
                    or _PAGE_NUMBER.match(text)
                    or (_BARE_NUMBER.match(text) and int(text) - page_index == offset)
                ):
                    continue
            out.append(line)
    return out


def _edge_positions(lines: list[str]) -> dict[int, str]:
    """Positions of the first and last two non-empty lines of a page (headers, page numbers),
    each with its edge ("top" or "bottom"; a line in both counts as top)."""
    content = [i for i, line in enumerate(lines) if line]
    zones = {i: "bottom" for i in content[-_EDGE_LINES:]}
    zones.update({i: "top" for i in content[:_EDGE_LINES]})
    return zones


def _unique_shapes(lines: list[str]) -> set[str]:
    """Shapes that occur on exactly one line of the page."""
    counts = Counter(_shape(line) for line in lines if line)
    return {shape for shape, count in counts.items() if count == 1}


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _page_number_offset(pages: list[list[str]]) -> int:
    """The most common (printed number - page index) among bare numbers at page edges."""
    offsets: Counter[int] = Counter()
    for page_index, lines in enumerate(pages):
        for position in _edge_positions(lines):
            if _BARE_NUMBER.match(lines[position]):
                offsets[int(lines[position]) - page_index] += 1
    if not offsets:
        return 1
    offset, count = offsets.most_common(1)[0]
    return offset if count >= 2 else 1


def _paragraphs(lines: list[_Line]) -> list[list[str]]:
    """Group lines into paragraphs from layout: gaps, indents, font sizes and short lines."""
    width = wrap_width([[line.text for line in lines]])
    spacing = _typical_spacing(lines)
    margins = _left_margins(lines)
    paragraphs: list[list[str]] = []
    current: list[str] = []
    previous: _Line | None = None
    for line in lines:
        if (
            current
            and previous is not None
            and (
                _ends_paragraph(previous.text, width)
                or _starts_paragraph(previous, line, spacing, margins)
            )
        ):
            paragraphs.append(current)
            current = []
        current.append(line.text)
        previous = line
    if current:
        paragraphs.append(current)
    return paragraphs


def _ends_paragraph(text: str, width: int) -> bool:
    """A line much shorter than the text width, or a fairly short one ending a sentence."""
    if len(text) < width * _PARAGRAPH_END_RATIO:
        return True
    return len(text) < width * _SENTENCE_END_RATIO and bool(_SENTENCE_END.search(text))


def _starts_paragraph(
    previous: _Line, line: _Line, spacing: float | None, margins: dict[int, float]
) -> bool:
    if line.y is None or previous.y is None:
        return False
    indent = max(line.size, 1.0) * _INDENT_EMS
    if line.page != previous.page:
        return line.x - margins.get(line.page, line.x) > indent
    if abs(line.size - previous.size) > _SIZE_TOLERANCE:
        return True
    gap = previous.y - line.y
    if gap <= 0 or (spacing is not None and gap > spacing * _GAP_RATIO):
        return True
    return line.x - previous.x > indent


def _typical_spacing(lines: list[_Line]) -> float | None:
    """The median distance between consecutive lines on the same page."""
    gaps = sorted(
        a.y - b.y
        for a, b in pairwise(lines)
        if a.page == b.page and a.y is not None and b.y is not None and a.y > b.y
    )
    return gaps[len(gaps) // 2] if gaps else None


def _left_margins(lines: list[_Line]) -> dict[int, float]:
    """Per page, the most common line start (rounded): the left margin of body text."""
    starts: dict[int, Counter[int]] = {}
    for line in lines:
        if line.y is not None:
            starts.setdefault(line.page, Counter())[round(line.x)] += 1
    return {page: float(c.most_common(1)[0][0]) for page, c in starts.items()}
