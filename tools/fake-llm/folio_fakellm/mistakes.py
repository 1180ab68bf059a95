"""The mistakes real translation models make, made on purpose.

A model mostly follows the glossary it is given, keeps paragraphs and numbers; now and then
it merges two paragraphs, splits one, drops a number, or renders a name its own way instead
of the glossary's. The fake does the same so that the engine's checks are exercised against
failures that really happen:

* **Glossary**: terms listed in the prompt as ``- term => rendering`` lines are rendered as
  given, wherever they occur in the source (case-sensitive, whole words).
* **Mistakes**, on free-text answers only: with ``FAKE_LLM_MISTAKE_RATE`` per answer, or for
  answers whose source carries ``[[fake:merge*N]]``, ``[[fake:split*N]]``,
  ``[[fake:drop-number*N]]`` or ``[[fake:drop-term*N]]`` (counted over translation answers
  whose text to translate carries them: an analysis request, or a neighbour quoting the
  passage as context, does not use them up). Which mistake, and whether one
  happens, is drawn from SHA-256 of the prompt and how often that prompt was seen: the same
  run of requests always gets the same answers, and a retry can succeed.
"""

# ruff: noqa: RUF001  (full-width CJK punctuation is what this module handles)
from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from folio_fakellm.faults import MARKER_RE

KINDS = ("merge", "split", "drop-number", "drop-term")
_GLOSSARY_LINE = re.compile(r"^- (.+?) => (.+?)\s*$", re.M)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
_SENTENCE = re.compile(r"(?<=[.!?。！？])[\"'\u201d\u300d]?\s*")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_PLACEHOLDER_BASE = 0xE000


@dataclass(frozen=True)
class Mistake:
    kind: str
    choice: float  # which paragraph, number or term it hits, in [0, 1)


def glossary_in(prompt: str, source: str) -> list[tuple[str, str]]:
    """The ``- term => rendering`` entries of the prompt's instructions (outside the source)."""
    instructions = prompt.replace(source, "") if source else prompt
    return [(t.strip(), r.strip()) for t, r in _GLOSSARY_LINE.findall(instructions) if t.strip()]


def _term_pattern(term: str) -> re.Pattern[str]:
    if _CJK.search(term):
        return re.compile(re.escape(term))
    return re.compile(rf"(?<!\w){re.escape(term)}(?!\w)")


def translate_with_glossary(
    source: str,
    glossary: list[tuple[str, str]],
    translate: Callable[[str], str],
    dropped: str | None = None,
) -> str:
    """``translate(source)`` with glossary terms rendered as given (``dropped``: the one term
    rendered the model's own way instead, a variant of the glossary's)."""
    found = occurring(glossary, source)
    if not found:
        return translate(source)
    renderings: list[str] = []
    text = source
    for term, rendering in found:
        # A private-use character is neither a letter nor a digit: the pseudo-translation
        # copies it through like punctuation, and it is swapped for the rendering after.
        mark = chr(_PLACEHOLDER_BASE + len(renderings))
        replaced = _term_pattern(term).sub(mark, text)
        if replaced != text:
            text = replaced
            renderings.append(variant(rendering) if term == dropped else rendering)
    out = translate(text)
    for i, rendering in enumerate(renderings):
        out = out.replace(chr(_PLACEHOLDER_BASE + i), rendering)
    return out


def occurring(glossary: list[tuple[str, str]], source: str) -> list[tuple[str, str]]:
    """Entries whose term occurs in ``source``, longest first (a full name before its parts)."""
    ordered = sorted(glossary, key=lambda e: -len(e[0]))
    return [(t, r) for t, r in ordered if t in source and _term_pattern(t).search(source)]


def variant(rendering: str) -> str:
    """Another spelling of a rendering, as a model that ignores the glossary produces."""
    if len(rendering) > 2:
        return rendering[:-1] + rendering[-2]
    return rendering + rendering[-1:]


def apply(mistake: Mistake, answer: str) -> str:
    if mistake.kind == "merge":
        gaps = list(_PARAGRAPHS.finditer(answer))
        if gaps:
            gap = gaps[int(mistake.choice * len(gaps))]
            return answer[: gap.start()] + " " + answer[gap.end() :]
    if mistake.kind == "split":
        paragraphs = _PARAGRAPHS.split(answer)
        index = int(mistake.choice * len(paragraphs))
        sentences = [s for s in _SENTENCE.split(paragraphs[index]) if s]
        if len(sentences) > 1:
            middle = len(sentences) // 2
            joiner = "" if _CJK.search(paragraphs[index]) else " "
            paragraphs[index] = (
                joiner.join(sentences[:middle]) + "\n\n" + joiner.join(sentences[middle:])
            )
            return "\n\n".join(paragraphs)
    if mistake.kind == "drop-number":
        numbers = list(_NUMBER.finditer(answer))
        if numbers:
            number = numbers[int(mistake.choice * len(numbers))]
            return answer[: number.start()] + answer[number.end() :]
    return answer


class MistakeMaker:
    """Decides, per free-text answer, whether and which mistake the model makes."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()

    def _count(self, key: str) -> int:
        with self._lock:
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
            if len(self._seen) > 200_000:
                self._seen.clear()
            return seen

    def draw(self, prompt: str, source: str | None = None) -> Mistake | None:
        """``source``: the text to translate, markers included (a marker counts there only,
        not where a neighbouring passage quotes it as context); the prompt by default."""
        marked = self._marked(prompt if source is None else source)
        if marked is not None:
            return marked
        if self.rate <= 0:
            return None
        digest = hashlib.sha256(prompt.encode()).hexdigest()
        nth = self._count(digest)
        roll = hashlib.sha256(f"{digest}|{nth}".encode()).digest()
        if int.from_bytes(roll[:8], "big") / 2.0**64 >= self.rate:
            return None
        kind = KINDS[roll[8] % len(KINDS)]
        return Mistake(kind, int.from_bytes(roll[9:17], "big") / 2.0**64)

    def _marked(self, prompt: str) -> Mistake | None:
        for match in MARKER_RE.finditer(prompt):
            body = match.group(1)
            kind, _, limit = body.partition("*")
            if kind not in KINDS:
                continue
            seen = self._count(match.group(0))
            if not limit or seen < int(limit):
                return Mistake(kind, 0.0)
        return None
