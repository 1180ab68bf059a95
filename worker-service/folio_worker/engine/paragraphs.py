"""The paragraph protocol between the engine and the model: explicit ids, never blank lines.

A unit of several paragraphs is sent with each paragraph wrapped in ``<p id="k">…</p>``
(k = 1…n). The answer is aligned by those ids: paragraph k of the answer is the one the model
labelled k. Counting blank lines would silently shift every later paragraph when a model merges
or splits one; ids make the mistake visible, so the answer can be refused and asked again.
A one-paragraph unit is sent bare: whatever comes back is that paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Lenient on the way back: models write <p id=3>, <p id='3'> or add spaces.
_OPEN = re.compile(r"<p\s+id\s*=\s*[\"']?(\d+)[\"']?\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"</p\s*>", re.IGNORECASE)
_BLANK_LINES = re.compile(r"[ \t]*\n(?:[ \t]*\n)+[ \t]*")


def numbered(paragraphs: Sequence[str]) -> str:
    """The unit's text as the model sees it (bare when it is one paragraph)."""
    if len(paragraphs) == 1:
        return paragraphs[0]
    return "\n\n".join(f'<p id="{k}">{text}</p>' for k, text in enumerate(paragraphs, start=1))


def strip_ids(text: str) -> str:
    """``text`` without paragraph tags (to check an answer that could not be aligned)."""
    return _CLOSE.sub("", _OPEN.sub("", text))


def aligned(answer: str, count: int) -> list[str] | None:
    """The answer's paragraphs in id order, or None when it cannot be aligned: an id missing,
    repeated, out of order or invented, or a paragraph left empty.

    A blank line inside one answer paragraph (the model split it) becomes a line break:
    the paragraph stays one block.
    """
    if count <= 1:
        body = _single(answer)
        return [body] if body else None
    openings = list(_OPEN.finditer(answer))
    if [int(m.group(1)) for m in openings] != list(range(1, count + 1)):
        return None
    paragraphs = []
    for k, opening in enumerate(openings):
        end = openings[k + 1].start() if k + 1 < len(openings) else len(answer)
        body = _tidy(_CLOSE.sub("", answer[opening.end() : end]))
        if not body:
            return None
        paragraphs.append(body)
    return paragraphs


def _single(answer: str) -> str:
    # A model may wrap a lone paragraph as the others would be wrapped: accept that.
    openings = list(_OPEN.finditer(answer))
    if len(openings) == 1 and openings[0].group(1) == "1":
        answer = answer[openings[0].end() :]
    elif openings:
        answer = _OPEN.sub("", answer)
    return _tidy(_CLOSE.sub("", answer))


def _tidy(text: str) -> str:
    return _BLANK_LINES.sub("\n", text.strip())
