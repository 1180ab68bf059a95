"""Paragraph ids and inline placeholders: kept through the pseudo-translation, and broken the
way real models break them.

A client may wrap paragraphs as ``<p id="k">…</p>`` and mark inline formatting with numbered
placeholder tags (``<i1>…</i1>``, ``<x2/>``). Tags are copied through untranslated, so a
well-behaved answer has them all, in order. Real models do not always behave: they merge two
paragraphs, split one, renumber them, drop a placeholder or move one. The ``layout`` faults do
the same, on demand (markers) or at ``FAKE_LLM_LAYOUT_FAULT_RATE`` per answer, drawn anew for
each repetition of a prompt (as sampling does), so a retry may come back right.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable

# Tags the fake copies through untranslated: paragraph ids and placeholder tags.
TAG_RE = re.compile(r"<p id=\"\d+\">|</p>|</?[a-z]{1,2}\d+/?>")
_PARAGRAPH_RE = re.compile(r"<p id=\"(\d+)\">(.*?)</p>", re.S)
_PAIR_RE = re.compile(r"<([a-z]{1,2})(\d+)>(.*?)</\1\2>", re.S)

LAYOUT_FAULTS = (
    "merge-paragraphs",
    "split-paragraph",
    "renumber-paragraphs",
    "drop-placeholder",
    "reorder-placeholders",
)


def translate_keeping_tags(text: str, translate: Callable[[str], str]) -> str:
    """``translate`` applied between tags; the tags themselves stay as they are."""
    out: list[str] = []
    position = 0
    for tag in TAG_RE.finditer(text):
        if tag.start() > position:
            out.append(translate(text[position : tag.start()]))
        out.append(tag.group(0))
        position = tag.end()
    if position < len(text):
        out.append(translate(text[position:]))
    return "".join(out)


def applicable(text: str) -> list[str]:
    """The layout faults that can change this answer."""
    faults = []
    if len(_PARAGRAPH_RE.findall(text)) >= 2:
        faults += ["merge-paragraphs", "split-paragraph", "renumber-paragraphs"]
    pairs = len(_PAIR_RE.findall(text))
    if pairs >= 1:
        faults.append("drop-placeholder")
    if pairs >= 2:
        faults.append("reorder-placeholders")
    return faults


def disturb(text: str, fault: str) -> str:
    """``text`` with one layout fault applied (unchanged when it does not apply)."""
    if fault not in applicable(text):
        return text
    if fault == "merge-paragraphs":
        return _merge(text)
    if fault == "split-paragraph":
        return _split(text)
    if fault == "renumber-paragraphs":
        return _PARAGRAPH_RE.sub(lambda m: f'<p id="{int(m.group(1)) - 1}">{m.group(2)}</p>', text)
    if fault == "drop-placeholder":
        return _PAIR_RE.sub(lambda m: m.group(3), text, count=1)
    if fault == "reorder-placeholders":
        return _swap_first_pairs(text)
    return text


def _merge(text: str) -> str:
    """Paragraphs 1 and 2 become one; the later ones keep their ids (so one is missing)."""
    first, second = list(_PARAGRAPH_RE.finditer(text))[:2]
    merged = f'<p id="{first.group(1)}">{first.group(2)} {second.group(2)}</p>'
    return text[: first.start()] + merged + text[second.end() :]


def _split(text: str) -> str:
    """The longest paragraph is cut in two at a space; every later id moves up by one."""
    paragraphs = list(_PARAGRAPH_RE.finditer(text))
    longest = max(paragraphs, key=lambda m: len(m.group(2)))
    body = longest.group(2)
    cut = body.find(" ", len(body) // 2)
    if cut < 0:
        cut = len(body) // 2
    number = int(longest.group(1))
    pieces = []
    for m in paragraphs:
        k = int(m.group(1))
        if m is longest:
            pieces.append(
                f'<p id="{k}">{body[:cut]}</p>\n\n<p id="{k + 1}">{body[cut:].strip()}</p>'
            )
        else:
            pieces.append(f'<p id="{k + 1 if k > number else k}">{m.group(2)}</p>')
    return "\n\n".join(pieces)


def _swap_first_pairs(text: str) -> str:
    """The first two placeholder pairs trade places (the model moved a phrase)."""
    pairs = list(_PAIR_RE.finditer(text))[:2]
    a, b = pairs  # never overlapping: finditer matches outer pairs only
    return text[: a.start()] + b.group(0) + text[a.end() : b.start()] + a.group(0) + text[b.end() :]


class LayoutFaults:
    """Draws ambient layout faults: per prompt, the n-th repetition gets its own draw."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.seed = seed
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()

    def draw(self, prompt: str, answer: str) -> str | None:
        if self.rate <= 0:
            return None
        choices = applicable(answer)
        if not choices:
            return None
        digest = hashlib.sha256(prompt.encode()).hexdigest()
        with self._lock:
            repetition = self._seen.get(digest, 0)
            self._seen[digest] = repetition + 1
        roll = hashlib.sha256(f"{self.seed}|{digest}|{repetition}".encode()).digest()
        if int.from_bytes(roll[:8], "big") / 2.0**64 >= self.rate:
            return None
        return choices[roll[8] % len(choices)]
