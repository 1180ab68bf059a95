"""Which parts of the job context a piece of text needs.

A segment's prompt carries only the glossary terms and the characters that occur in it:
less noise for the model, fewer tokens, and the same rendering of a name everywhere it
appears (the glossary is one job-wide table).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from folio.contracts import Character, GlossaryEntry
from folio_worker.engine.languages import script_of_char


@lru_cache(maxsize=20000)
def _pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term)
    if any(script_of_char(c) in ("han", "japanese", "hangul") for c in term):
        return re.compile(escaped)  # no word boundaries in CJK scripts
    return re.compile(rf"(?<![\w]){escaped}(?![\w])", re.IGNORECASE)


def occurs(term: str, text: str) -> bool:
    term = term.strip()
    return bool(term) and _pattern(term).search(text) is not None


_WORDS = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=20000)
def _is_cjk(term: str) -> bool:
    return any(script_of_char(c) in ("han", "japanese", "hangul") for c in term)


@lru_cache(maxsize=20000)
def _term_words(term: str) -> tuple[str, ...]:
    # The same glossary terms are looked up in every unit of the book: split them once.
    return tuple(_WORDS.findall(term.casefold()))


class TextIndex:
    """Answers "does this term occur?" for one text, mostly by set lookups.

    A term whose words are not all in the text cannot occur, which rules out nearly every
    term at the cost of a set lookup; only the rest are confirmed with a regex scan.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = set(_WORDS.findall(text.casefold()))
        self._counts: Counter[str] | None = None
        self._known: dict[str, bool] = {}

    def frequency(self, term: str) -> int:
        """Roughly how often a term occurs (its rarest word's count), for ranking terms."""
        if self._counts is None:
            self._counts = Counter(_WORDS.findall(self.text.casefold()))
        return min((self._counts.get(t, 0) for t in _term_words(term)), default=0)

    def contains(self, term: str) -> bool:
        term = term.strip()
        if not term:
            return False
        known = self._known.get(term)
        if known is None:
            if _is_cjk(term):
                known = term in self.text
            else:
                tokens = _term_words(term)
                known = bool(tokens) and all(t in self.words for t in tokens)
                if known and (len(tokens) > 1 or tokens[0] != term.casefold()):
                    known = occurs(term, self.text)
            self._known[term] = known
        return known


def glossary_for(
    text: str, glossary: Iterable[GlossaryEntry], index: TextIndex | None = None
) -> list[GlossaryEntry]:
    index = index or TextIndex(text)
    return [entry for entry in glossary if index.contains(entry.term)]


def characters_for(
    text: str, characters: Iterable[Character], index: TextIndex | None = None
) -> list[Character]:
    index = index or TextIndex(text)
    return [c for c in characters if any(index.contains(n) for n in (c.name, *c.aliases))]


def tail(text: str, limit: int) -> str:
    """The end of ``text``, at most ``limit`` characters, starting at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    space = cut.find(" ")
    return cut[space + 1 :] if 0 <= space < limit // 4 else cut


def head(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit * 3 // 4 else cut


def join_nonempty(parts: Sequence[str], sep: str = "\n\n") -> str:
    return sep.join(p for p in parts if p)
