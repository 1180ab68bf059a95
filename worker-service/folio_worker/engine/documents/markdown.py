"""Markdown books: rendered to plain blocks with markdown-it-py.

Markup is reduced to the words a reader sees (emphasis and links become their text, images are
dropped) because the model should translate prose, not syntax. Level 1 and 2 headings open chapters,
deeper headings stay heading blocks inside the chapter.
"""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from folio_worker.engine.documents.builder import DocumentBuilder
from folio_worker.engine.documents.decode import decode_text
from folio_worker.engine.documents.headings import is_chapter_heading
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import Document
from folio_worker.engine.documents.textutil import join_lines, normalize_newlines

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_FIELD = re.compile(r"^([A-Za-z_-]+)\s*:\s*(.*?)\s*$", re.MULTILINE)
_HTML_TAG = re.compile(r"<[^<>]*>")
_CHAPTER_LEVEL = 2


def parse_markdown(data: bytes, limits: ParseLimits) -> Document:
    """Parse a Markdown book (CommonMark plus tables)."""
    text = normalize_newlines(decode_text(data))
    text, front = _split_front_matter(text)
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    builder = DocumentBuilder("md", limits)
    first_h1: str | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "heading_open" and i + 1 < len(tokens):
            level = int(token.tag[1:]) if token.tag[1:].isdigit() else 6
            heading = _inline_text(tokens[i + 1])
            if level <= _CHAPTER_LEVEL and heading:
                builder.start_chapter(heading)
            if level == 1 and first_h1 is None:
                first_h1 = heading
            builder.add("heading", heading)
            i += 3
            continue
        if token.type == "inline":
            paragraph = _inline_text(token)
            # Only a top-level paragraph can be a chapter line, never a list item or table cell.
            if token.level == 1 and is_chapter_heading(paragraph):
                builder.start_chapter(paragraph)
                builder.add("heading", paragraph)
            else:
                builder.add("paragraph", paragraph)
        elif token.type in ("fence", "code_block"):
            builder.add("paragraph", token.content)
        elif token.type == "html_block":
            builder.add("paragraph", html.unescape(_HTML_TAG.sub("", token.content)))
        i += 1
    authors = tuple(a.strip() for a in re.split(r"[;,]| and ", front.get("author", "")) if a)
    return builder.build(
        title=front.get("title") or first_h1,
        authors=authors,
        language=front.get("lang") or front.get("language"),
        metadata={k: v for k, v in front.items() if k not in ("title", "author")},
    )


def _split_front_matter(text: str) -> tuple[str, dict[str, str]]:
    """Remove a leading YAML front-matter block, keeping its simple ``key: value`` fields."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return text, {}
    fields = {
        m.group(1).lower(): m.group(2).strip().strip("\"'")
        for m in _FRONT_FIELD.finditer(match.group(1))
        if m.group(2).strip()
    }
    return text[match.end() :], fields


def _inline_text(token: Token) -> str:
    """The visible text of an inline token: soft breaks re-flowed, hard breaks kept."""
    lines: list[str] = []
    current: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            current.append(child.content)
        elif child.type == "softbreak":
            current.append("\n")
        elif child.type == "hardbreak":
            lines.append(join_lines("".join(current).split("\n")))
            current = []
        elif child.type == "html_inline" and child.content.lower().startswith("<br"):
            lines.append(join_lines("".join(current).split("\n")))
            current = []
    lines.append(join_lines("".join(current).split("\n")))
    return "\n".join(line for line in lines if line)
