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
from folio_worker.engine.languages import code_of, script_of_char

# Source languages that inflect names ("Анна" -> "Анну", "Anna" -> "Annę", "Gregor" ->
# "Gregors"): a name then matches its stem plus a short ending.
INFLECTING = frozenset("ru uk be pl cs sk sl hr sr bs bg lt lv de fi et hu is la el".split())
_STEM_VOWELS = "aeiouyаеёиоуыэюяьйіїєąęáéíóúůýěäöü"  # noqa: RUF001 (Cyrillic vowels)
_WORDS = re.compile(r"\w+", re.UNICODE)


def _cased(term: str) -> bool:
    """A term with a capital letter is a name: it is matched with its case ("Will" the
    name, not "will" the verb). Lower-case terms match whatever their case."""
    return any(c.isupper() for c in term)


def _stem(word: str) -> str | None:
    """The part of a name's word that its inflected forms keep, or None if too short."""
    if len(word) < 4:
        return None
    return word[:-1] if word[-1].lower() in _STEM_VOWELS else word


@lru_cache(maxsize=20000)
def _pattern(term: str, inflecting: bool = False) -> re.Pattern[str]:
    if _is_cjk(term):
        return re.compile(re.escape(term))  # no word boundaries in CJK scripts
    flags = 0 if _cased(term) else re.IGNORECASE
    if inflecting:
        parts = []
        for word in term.split():
            stem = _stem(word)
            if stem is None:
                parts.append(re.escape(word))
            else:  # up to three letters of ending after the word (Kenji -> Kenjiego)
                ending = 3 + len(word) - len(stem)
                parts.append(re.escape(stem) + rf"\w{{0,{ending}}}")
        first = term.split()[0][0]
        return _word_start(first, r"\s+".join(parts)[len(re.escape(first)) :], flags)
    return _word_start(term[0], re.escape(term[1:]), flags)


def _word_start(first: str, rest: str, flags: int) -> re.Pattern[str]:
    """``first`` + ``rest`` with no word character before or after. "Nothing before" is
    asserted after the first character: a pattern that starts with a literal is searched
    for fast, one that starts with a look-behind is tried at every position of the text
    (about 30 times slower on a novel)."""
    first = re.escape(first)
    return re.compile(rf"{first}(?<!\w{first}){rest}(?![\w])", flags)


def occurs(term: str, text: str, inflecting: bool = False) -> bool:
    term = term.strip()
    return bool(term) and _pattern(term, inflecting).search(text) is not None


@lru_cache(maxsize=20000)
def _is_cjk(term: str) -> bool:
    return any(script_of_char(c) in ("han", "japanese", "hangul") for c in term)


@lru_cache(maxsize=20000)
def _term_words(term: str) -> tuple[str, ...]:
    # The same glossary terms are looked up in every unit of the book: split them once.
    return tuple(_WORDS.findall(term.casefold()))


@lru_cache(maxsize=20000)
def _term_prefixes(term: str) -> tuple[str, ...]:
    """What an inflected occurrence's words must start with (word sets cannot know)."""
    return tuple((_stem(w) or w)[:4] for w in _term_words(term))


def inflects(language: str | None) -> bool:
    return bool(language) and code_of(language or "") in INFLECTING


class TextIndex:
    """Answers "does this term occur?" for one text, mostly by set lookups.

    A term whose words are not all in the text cannot occur, which rules out nearly every
    term at the cost of a set lookup; only the rest are confirmed with a regex scan. Names
    (terms with a capital) are looked up case-sensitively; in a language that inflects
    names, by the first letters of their stems.
    """

    def __init__(self, text: str, *, inflecting: bool = False) -> None:
        self.text = text
        self.inflecting = inflecting
        self.words = set(_WORDS.findall(text.casefold()))
        self._cased_words: set[str] | None = None
        self._prefixes: set[str] | None = None
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
            known = self._contains(term)
            self._known[term] = known
        return known

    def _contains(self, term: str) -> bool:
        if _is_cjk(term):
            return term in self.text
        tokens = _term_words(term)
        if not tokens:
            return False
        if self.inflecting:
            if self._prefixes is None:
                self._prefixes = {w[:4] for w in self.words} | {w[:3] for w in self.words}
            if not all(p in self._prefixes for p in _term_prefixes(term)):
                return False
            return occurs(term, self.text, inflecting=True)
        if not all(t in self.words for t in tokens):
            return False
        if len(tokens) == 1 and tokens[0] == term.casefold():
            if not _cased(term):
                return True
            if self._cased_words is None:
                self._cased_words = set(_WORDS.findall(self.text))
            return term in self._cased_words
        return occurs(term, self.text)


@lru_cache(maxsize=512)
def unit_index(text: str, inflecting: bool = False) -> TextIndex:
    """The index of a unit's text, shared by everything that asks about the unit in this
    process (its prompt at planning and at translation, its answer's checks): the words
    of a text are split once, and each term looked up once."""
    return TextIndex(text, inflecting=inflecting)


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


def speech_at(character: Character, chapter: int) -> Character:
    """The character as of ``chapter``: for each listener, the way of speaking that holds
    there (the last change at or before it)."""
    if not any(s.from_chapter for s in character.speaks_to):
        return character
    current: dict[str, object] = {}
    for style in sorted(character.speaks_to, key=lambda s: s.from_chapter or 0):
        if (style.from_chapter or 0) <= chapter:
            current[style.listener.casefold()] = style.model_copy(update={"from_chapter": None})
    return character.model_copy(update={"speaks_to": list(current.values())})


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
