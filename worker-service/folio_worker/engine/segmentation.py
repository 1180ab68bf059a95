"""Cut a book into segments of about ``target_size`` characters at paragraph boundaries."""

from __future__ import annotations

import re

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text.replace("\r\n", "\n")) if p.strip()]


def segment_text(text: str, target_size: int) -> list[str]:
    segments: list[str] = []
    current: list[str] = []
    length = 0
    for paragraph in split_paragraphs(text):
        if current and length + len(paragraph) + 2 > target_size:
            segments.append("\n\n".join(current))
            current, length = [], 0
        current.append(paragraph)
        length += len(paragraph) + 2
    if current:
        segments.append("\n\n".join(current))
    return segments
