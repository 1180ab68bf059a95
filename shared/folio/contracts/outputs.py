"""The output files of a job: what the worker builds, stores and translation-service serves.

Each kind is the ``?format=`` of ``GET /download/{id}``, the key of ``JobAssembled.outputs``
and the suffix of the stored and downloaded file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class OutputKind(StrEnum):
    TXT = "txt"
    BILINGUAL_TXT = "bilingual_txt"
    EPUB = "epub"
    BILINGUAL_EPUB = "bilingual_epub"
    DOCX = "docx"
    SEGMENTS = "segments"
    GLOSSARY = "glossary"


@dataclass(frozen=True)
class OutputFile:
    suffix: str  # of the file name: "<book>_<suffix>"
    media_type: str


OUTPUT_FILES: dict[OutputKind, OutputFile] = {
    OutputKind.TXT: OutputFile("translated.txt", "text/plain; charset=utf-8"),
    OutputKind.BILINGUAL_TXT: OutputFile("bilingual.txt", "text/plain; charset=utf-8"),
    OutputKind.EPUB: OutputFile("translated.epub", "application/epub+zip"),
    OutputKind.BILINGUAL_EPUB: OutputFile("bilingual.epub", "application/epub+zip"),
    OutputKind.DOCX: OutputFile(
        "translated.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    OutputKind.SEGMENTS: OutputFile("segments.json", "application/json"),
    OutputKind.GLOSSARY: OutputFile("glossary.json", "application/json"),
}


# A passage the model could not translate stays in the book in its source language, each
# of its paragraphs opened by this marker, in every output (TXT, EPUB, bilingual, segments,
# PDF), so a reader sees it and its owner can re-run it.
UNTRANSLATED_MARKER = "[untranslated]"


def mark_untranslated(source: str) -> str:
    """The source text with every paragraph (blank-line separated) marked."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", source.strip()) if p.strip()]
    return "\n\n".join(f"{UNTRANSLATED_MARKER} {p}" for p in paragraphs)


def download_name(filename: str, kind: OutputKind) -> str:
    """``My Book.epub`` -> ``My Book_translated.epub``."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    return f"{stem}_{OUTPUT_FILES[kind].suffix}"
