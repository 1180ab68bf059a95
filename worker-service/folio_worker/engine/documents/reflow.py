"""Split plain text into paragraphs and undo hard wrapping.

Project Gutenberg and many scanned-then-OCRed books wrap lines at ~70 columns. Sending those
line breaks to a model makes it translate line by line and produce ragged output, so prose is
re-flowed into one line per paragraph. Verse and other deliberately short lines keep their
breaks, recognised by being much shorter than the file's typical wrap width.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from folio_worker.engine.documents.headings import is_chapter_heading
from folio_worker.engine.documents.textutil import join_lines

# A line shorter than this fraction of the wrap width was broken on purpose, not by wrapping.
SHORT_LINE_RATIO = 0.6
WIDTH_PERCENTILE = 0.9
_MOSTLY = 0.6  # when more lines than this are indented, indentation marks nothing

# [ \t] rather than \s: \s would also eat newlines and make the search quadratic.
_GUTENBERG_START = re.compile(r"^[ \t]*\*{3}[ \t]*START OF[^\n]*$", re.IGNORECASE | re.MULTILINE)
_GUTENBERG_END = re.compile(r"^[ \t]*\*{3}[ \t]*END OF[^\n]*$", re.IGNORECASE | re.MULTILINE)
_GUTENBERG_FIELD = re.compile(r"^(Title|Author|Language):[ \t]*(\S[^\n]*)$", re.MULTILINE)


@dataclass(frozen=True)
class GutenbergHeader:
    """What a Project Gutenberg header declares about the book."""

    title: str | None = None
    author: str | None = None
    language: str | None = None


def strip_gutenberg(text: str) -> tuple[str, GutenbergHeader]:
    """Drop Project Gutenberg boilerplate around ``*** START OF`` / ``*** END OF`` markers."""
    start = _GUTENBERG_START.search(text)
    if start is None or "gutenberg" not in text[: start.end() + 200].lower():
        return text, GutenbergHeader()
    header_text = text[: start.start()]
    body_start = start.end()
    if not start.group(0).rstrip().endswith("***"):
        # The marker may continue on the next line(s): "*** START OF THE PROJECT\nGUTENBERG ***".
        close = text.find("***", start.end(), start.end() + 300)
        if close != -1:
            body_start = close + 3
    end = _GUTENBERG_END.search(text, body_start)
    body = text[body_start : end.start() if end else len(text)]
    fields = {
        m.group(1).lower(): m.group(2).strip() for m in _GUTENBERG_FIELD.finditer(header_text)
    }
    header = GutenbergHeader(fields.get("title"), fields.get("author"), fields.get("language"))
    return body, header


def split_paragraphs(text: str) -> list[list[str]]:
    """Paragraphs as lists of stripped lines: blank lines separate them.

    A file without a single blank line uses one line per paragraph (the common layout of
    editors that soft-wrap), unless some of its lines are indented: then it is hard-wrapped
    with a first-line indent marking each paragraph (an old typewriter convention).
    """
    raw_lines = text.split("\n")
    first = next((i for i, line in enumerate(raw_lines) if line.strip()), len(raw_lines))
    last = next((i for i in range(len(raw_lines) - 1, -1, -1) if raw_lines[i].strip()), -1)
    raw_lines = raw_lines[first : last + 1]
    lines = [line.strip() for line in raw_lines]
    non_empty = [line for line in lines if line]
    if not non_empty:
        return []
    if len(non_empty) == len(lines):
        indented = [raw[:1].isspace() for raw in raw_lines]
        if 2 <= sum(indented) < len(lines) * _MOSTLY:
            return _indented_paragraphs(lines, indented)
        return [[line] for line in lines]
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _indented_paragraphs(lines: list[str], indented: list[bool]) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    for line, starts in zip(lines, indented, strict=True):
        if starts or not paragraphs:
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
    return paragraphs


def wrap_width(paragraphs: list[list[str]]) -> int:
    """The file's typical line width: the 90th percentile of its line lengths."""
    lengths = sorted(len(line) for paragraph in paragraphs for line in paragraph)
    if not lengths:
        return 0
    return lengths[min(len(lengths) - 1, int(len(lengths) * WIDTH_PERCENTILE))]


def is_verse(lines: list[str], width: int) -> bool:
    """Most lines (the last one excepted, it is naturally short) are much shorter than the width."""
    if len(lines) < 2:
        return False
    body = lines[:-1]
    short = sum(1 for line in body if len(line) < width * SHORT_LINE_RATIO)
    return short * 2 > len(body)


def reflow(paragraphs: list[list[str]]) -> list[str]:
    """Paragraph texts: prose joined into one line, verse keeping "\\n" between its lines.

    A chapter heading caught inside a paragraph (e.g. a title page followed directly by "I")
    is split out as its own paragraph so chapter detection can see it.
    """
    width = wrap_width(paragraphs)
    out: list[str] = []
    for lines in paragraphs:
        for group in _split_out_headings(lines):
            if is_verse(group, width):
                out.append("\n".join(group))
            else:
                out.append(join_lines(group))
    return out


def _split_out_headings(lines: list[str]) -> list[list[str]]:
    if len(lines) < 2:
        return [lines]
    groups: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if is_chapter_heading(line):
            if current:
                groups.append(current)
            groups.append([line])
            current = []
        else:
            current.append(line)
    if current:
        groups.append(current)
    return groups
