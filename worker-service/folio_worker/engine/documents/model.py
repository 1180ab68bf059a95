"""The format-neutral shape of a book that every later stage works on.

Parsers for TXT, Markdown, DOCX, EPUB and PDF all reduce a file to this model so that
segmentation, translation and assembly never need to know where the text came from. Blocks
carry an opaque ``anchor`` so that format-specific assemblers (EPUB) can find the exact source
element again without the rest of the pipeline understanding it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from folio_worker.engine.documents.placeholders import strip

BlockKind = Literal["heading", "paragraph"]
DocumentFormat = Literal["txt", "md", "docx", "epub", "pdf"]


@dataclass(frozen=True)
class Block:
    """One translatable run of text: a paragraph or a heading.

    ``text`` is NFC-normalised, stripped, never empty and never contains a blank line, so
    "\\n\\n" can safely separate blocks when they are joined. In EPUB and DOCX books it
    carries the block's inline markup as placeholder tags (``placeholders.py``);
    ``plain_text`` is what a reader sees.
    """

    index: int
    chapter: int
    kind: BlockKind
    text: str
    anchor: str | None = None

    @property
    def plain_text(self) -> str:
        return strip(self.text)


@dataclass(frozen=True)
class Chapter:
    """A chapter: the unit that segments and model calls never cross."""

    index: int
    title: str | None
    source_ref: str | None = None


@dataclass(frozen=True)
class Document:
    """A parsed book: chapters, their blocks in reading order, and what the file declares."""

    format: DocumentFormat
    chapters: tuple[Chapter, ...]
    blocks: tuple[Block, ...]
    title: str | None = None
    authors: tuple[str, ...] = ()
    language: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # Navigation labels no heading translates (EPUB): translated on their own.
    nav_labels: tuple[str, ...] = ()

    def text(self) -> str:
        """The whole book as plain text, blocks separated by a blank line."""
        return "\n\n".join(block.plain_text for block in self.blocks)


class DocumentError(Exception):
    """The book cannot be used; ``reason`` is a clear sentence for the user (no stack details)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason
