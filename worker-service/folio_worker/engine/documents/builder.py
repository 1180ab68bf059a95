"""Accumulates chapters and blocks while a parser walks a file, then freezes a Document.

Parsers discover chapters as they go and sometimes open a chapter that turns out to be empty
(an EPUB cover page, a heading-less preamble). Collecting everything here first lets empty
chapters be dropped and indices be assigned once, so they are always contiguous.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from folio_worker.engine.documents.limits import ParseLimits, check_chars
from folio_worker.engine.documents.model import (
    Block,
    BlockKind,
    Chapter,
    Document,
    DocumentError,
    DocumentFormat,
)
from folio_worker.engine.documents.placeholders import strip
from folio_worker.engine.documents.textutil import clean_block_text


@dataclass
class _PendingChapter:
    title: str | None
    source_ref: str | None
    blocks: list[tuple[BlockKind, str, str | None]] = field(default_factory=list)


class DocumentBuilder:
    """Collects blocks chapter by chapter; blocks added before any chapter open chapter 0."""

    def __init__(self, fmt: DocumentFormat, limits: ParseLimits) -> None:
        self._format: DocumentFormat = fmt
        self._limits = limits
        self._chapters: list[_PendingChapter] = []
        self._chars = 0

    def start_chapter(self, title: str | None = None, source_ref: str | None = None) -> None:
        """Open a new chapter; later blocks belong to it."""
        clean = strip(clean_block_text(title)).replace("\n", " ").strip() if title else None
        self._chapters.append(_PendingChapter(clean or None, source_ref))

    def add(self, kind: BlockKind, text: str, anchor: str | None = None) -> bool:
        """Add a block to the current chapter; empty text is ignored (returns False)."""
        clean = clean_block_text(text)
        if not clean:
            return False
        self._chars += len(clean)
        check_chars(self._chars, self._limits)
        if not self._chapters:
            self.start_chapter()
        self._chapters[-1].blocks.append((kind, clean, anchor))
        return True

    def build(
        self,
        *,
        title: str | None = None,
        authors: tuple[str, ...] = (),
        language: str | None = None,
        metadata: Mapping[str, str] | None = None,
        nav_labels: tuple[str, ...] = (),
    ) -> Document:
        """Freeze into a Document, dropping empty chapters; refuses a book without text."""
        chapters: list[Chapter] = []
        blocks: list[Block] = []
        for pending in self._chapters:
            if not pending.blocks:
                continue
            chapter_index = len(chapters)
            chapters.append(Chapter(chapter_index, pending.title, pending.source_ref))
            for kind, text, anchor in pending.blocks:
                blocks.append(Block(len(blocks), chapter_index, kind, text, anchor))
        if not blocks:
            raise DocumentError("The book contains no text.")
        return Document(
            format=self._format,
            chapters=tuple(chapters),
            blocks=tuple(blocks),
            title=_clean_optional(title),
            authors=tuple(a for a in (_clean_optional(x) for x in authors) if a),
            language=_clean_optional(language),
            metadata=dict(metadata or {}),
            nav_labels=nav_labels,
        )


def _clean_optional(value: str | None) -> str | None:
    if value is None:
        return None
    return strip(clean_block_text(value)).replace("\n", " ").strip() or None
