"""Inline markup as placeholder tags in block text, checked and repaired on the way back.

A block's text may carry its inline formatting (italics, bold, links, footnote references,
ruby, images) as numbered tags: ``<i1>…</i1>`` around text, ``<x2/>`` for an
element without text. The letter says what the element is (so a model knows what it moves),
the number says which element of the block it is (1, 2, … in document order). Documents
(EPUB, DOCX) keep the elements themselves and put them back from the tags; the rest of the
pipeline only sees text. Tags are the only markup that can appear: a model's answer is valid
when it has exactly the source's tags, each once, in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# i: emphasis; b: strong; a: link; n: footnote reference; r: ruby; s: any other inline
# element; x: an element without text (an image, an anchor). Line breaks stay "\n".
LETTERS = frozenset("ibanrsx")
TAG = re.compile(r"<(/?)([ibanrsx])(\d+)(/?)>")


@dataclass(frozen=True)
class Token:
    kind: str  # "open", "close", "void"
    letter: str
    number: int

    def render(self) -> str:
        if self.kind == "void":
            return f"<{self.letter}{self.number}/>"
        return f"<{'/' if self.kind == 'close' else ''}{self.letter}{self.number}>"


def tokens(text: str) -> list[Token]:
    """The placeholder tags of ``text`` in order (malformed ones, e.g. ``</x1/>``, skipped)."""
    out = []
    for match in TAG.finditer(text):
        closing, letter, number, void = match.groups()
        if closing and void:
            continue
        kind = "close" if closing else "void" if void else "open"
        out.append(Token(kind, letter, int(number)))
    return out


def has_placeholders(text: str) -> bool:
    return TAG.search(text) is not None


def strip(text: str) -> str:
    """The visible text, without tags."""
    return TAG.sub("", text)


def matches(source: str, answer: str) -> bool:
    """The answer has exactly the source's tags, each once, in the same order."""
    return tokens(answer) == tokens(source)


def repair(source: str, answer: str) -> str:
    """An answer whose tags do not match, made safe: tags the answer has in the source's
    order (both ends of a pair) are kept; invented or reordered ones are removed. A missing
    element without text, or whose text has no letters (a footnote number, a symbol), is put
    back with its source text before the next tag the answer kept (else at the end), so links
    to notes survive; a missing pair around words loses its formatting, never its words."""
    wanted = tokens(source)
    found = tokens(answer)
    kept = _common(wanted, found)
    pairs_kept = {
        (t.letter, t.number)
        for t in kept
        if t.kind == "open" and Token("close", t.letter, t.number) in kept
    }
    keep = {t for t in kept if t.kind == "void" or (t.letter, t.number) in pairs_kept}
    seen: set[Token] = set()

    def filter_tag(match: re.Match[str]) -> str:
        token = _token_of(match)
        if token is None or token not in keep or token in seen:
            return ""
        seen.add(token)
        return match.group(0)

    repaired = TAG.sub(filter_tag, answer).rstrip()
    placed = set(keep)
    for index, token in enumerate(wanted):
        if token in placed or token.kind == "close":
            continue
        if token.kind == "void":
            missing = token.render()
        else:
            inner = _inner(source, token)
            if inner is None or any(ch.isalpha() for ch in strip(inner)):
                continue  # words lose their formatting, never themselves
            if any(t in placed for t in tokens(inner)):
                continue  # part of it is in the answer already
            missing = f"{token.render()}{inner}</{token.letter}{token.number}>"
            placed.update(tokens(inner))
        placed.add(token)
        # before the next tag of the source that the answer has, so the order stays the source's
        following = next((t for t in wanted[index + 1 :] if t in keep), None)
        at = repaired.find(following.render()) if following else -1
        repaired = repaired + missing if at < 0 else repaired[:at] + missing + repaired[at:]
    return repaired


def _token_of(match: re.Match[str]) -> Token | None:
    closing, letter, number, void = match.groups()
    if closing and void:
        return None
    return Token("close" if closing else "void" if void else "open", letter, int(number))


def _inner(text: str, token: Token) -> str | None:
    opening = token.render()
    closing = f"</{token.letter}{token.number}>"
    start = text.find(opening)
    end = text.find(closing, start + len(opening))
    if start < 0 or end < 0:
        return None
    return text[start + len(opening) : end]


def _common(wanted: Sequence[Token], found: Sequence[Token]) -> list[Token]:
    """The longest common subsequence of two tag sequences (short: quadratic is fine)."""
    rows, cols = len(wanted), len(found)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1
                if wanted[i] == found[j]
                else max(table[i + 1][j], table[i][j + 1])
            )
    out, i, j = [], 0, 0
    while i < rows and j < cols:
        if wanted[i] == found[j]:
            out.append(wanted[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return out
