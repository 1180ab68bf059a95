"""Which of the terms a model reports are real names and terms of the book.

Models report function words ("The", "And", "You"), words that are capitalised only because
they open a sentence, and names with or without their article. A glossary entry binds every
prompt it appears in, so a junk entry does real damage ("will" rendered as a name). A term
is kept only with evidence from the book itself:

* a capitalised term (a name) must occur, exactly as written, somewhere *not* at the start
  of a sentence, or never in lower case (a name that always opens its sentences); a
  function word needs the first: "And" or "The" reported from sentence starts go, "Will"
  stays when the book says "and Will, you will not"; a name of several capitalised words
  may stand at a sentence start ("Will Harper came"), but a leading opener is dropped
  ("And Gregor");
* a lower-case term must occur as written, not be a function word and not be reported as
  a person or place;
* a term in a script without case (CJK, Thai, Arabic, …) must occur as written and be
  longer than one character;
* a leading article is removed only when the book does not use it as part of the name
  ("the Ministry" -> "Ministry", but "Los Angeles" and "The Hague" stay).
"""

from __future__ import annotations

import re
from functools import lru_cache

_QUOTES = "\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u300c\u300d\u300e\u300f()[]"
_POSSESSIVE = re.compile("[\u2019']s$")
_ARTICLE = re.compile(
    r"^(the|a|an|le|la|les|l'|el|los|las|il|lo|gli|der|die|das|den|dem|des|de|het|o|os|as)\s+",
    re.IGNORECASE,
)
# Words that are never a name on their own, in the languages whose books are most common.
FUNCTION_WORDS = frozenset(
    """
    the a an and or but if then so yet for nor of in on at to from by with as into onto
    upon about after before while when where why what which who whom whose how because
    though although unless until since once i you he she it we they me him her us them my
    your his its our their this that these those there here yes no not oh ah well now just
    all some any every each both either neither one also even still only very much many
    more most such again never always do does did is are was were be been being have has
    had will would shall should can could may might must let chapter part book mr mrs ms
    dr sir madam miss lady lord
    le la les un une des et ou mais si donc car de du au aux dans sur avec pour par il elle
    nous vous ils elles je tu ce cette ces qui que quoi oui non
    der die das ein eine und oder aber wenn dann doch für von mit zu im am auf aus bei ich
    du er sie es wir ihr ja nein nicht
    el los las una y o pero si entonces de del en con por para yo tú él ella nosotros sí
    il lo gli uno e ma se allora di da con per io lui lei noi
    o os um uma e ou mas se então do da em com por para eu ele ela nós sim não
    """.split()
)
_SENTENCE_END = ".!?\u2026\u3002\uff01\uff1f"
_OPENERS = "\"'\u201c\u2018\u00ab\u201e\u300c\u300e"
_CLOSERS = "\"'\u201d\u2019\u00bb)]"
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_])", re.UNICODE)
_LOOKED_AT = 200  # occurrences of a term examined for evidence (ample; bounds the cost)


def clean(term: str) -> str:
    return _POSSESSIVE.sub("", term.strip().strip(_QUOTES).strip()).strip()


def has_case(term: str) -> bool:
    return any(c.isupper() or c.islower() for c in term)


@lru_cache(maxsize=20000)
def _exact(term: str) -> re.Pattern[str]:
    if not has_case(term) or not term:
        return re.compile(re.escape(term))
    # "No word character before the term", asserted after its first character: a pattern
    # that starts with a literal is searched for fast, one that starts with a look-behind
    # is tried at every position of the book (about 60 times slower on a novel).
    first, rest = re.escape(term[0]), re.escape(term[1:])
    return re.compile(rf"{first}(?<!\w{first}){rest}(?!\w)")


def sentence_start(text: str, position: int) -> bool:
    """Whether a word at ``position`` opens a sentence, a line or a quotation."""
    i = position - 1
    while i >= 0 and text[i] in " \t\u00a0" + _OPENERS:
        if text[i] in _OPENERS and text[i] not in " \t\u00a0":
            return True
        i -= 1
    if i < 0 or text[i] == "\n":
        return True
    while i >= 0 and text[i] in _CLOSERS:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END or text[i] == ":"


def occurs_as_name(term: str, text: str, *, alone: bool = False) -> bool:
    """The exact (case-sensitive) term occurs at least once not at a sentence start
    (``alone``: nor right before another capitalised word, as "The" in "The Hague")."""
    for n, match in enumerate(_exact(term).finditer(text)):
        if not sentence_start(text, match.start()) and not (
            alone and _before_capital(text, match.end())
        ):
            return True
        if n >= _LOOKED_AT:
            break
    return False


def _before_capital(text: str, end: int) -> bool:
    following = _NEXT_WORD.match(text, end)
    return bool(following) and following.group(1).isupper()


def vet(raw: str, kind: str, text: str) -> str | None:
    """The term as the glossary should hold it, or None when the book shows it is no name."""
    term = clean(raw)
    article = _ARTICLE.match(term)
    if article and not (has_case(term) and term[0].isupper() and occurs_as_name(term, text)):
        rest = term[article.end() :].strip()
        if rest and _exact(rest).search(text):
            term = rest
    if len(term) < 2:
        return None
    if not has_case(term):
        return term if _exact(term).search(text) else None
    if term[0].isupper():
        function_word = term.casefold() in FUNCTION_WORDS
        if occurs_as_name(term, text, alone=function_word):
            return term
        words = term.split()
        opener = len(words) > 1 and words[0].casefold() in FUNCTION_WORDS
        if opener and not occurs_as_name(words[0], text):
            # A sentence opener before a name ("But Gregor" -> "Gregor"): the words after
            # it are the name, if any (checked before the rule below, which a name that is
            # never written in lower case would pass whatever stands before it).
            return vet(" ".join(words[1:]), kind, text)
        if (
            not function_word
            and _exact(term).search(text)
            and not _exact(term.lower()).search(text)
        ):
            return term  # it always opens sentences, but is never written in lower case
        if len(words) > 1 and all(w[:1].isupper() for w in words) and _exact(term).search(text):
            return term  # a name of several capitalised words is one wherever it stands
        return None
    if kind in ("person", "place", "organization") or term.casefold() in FUNCTION_WORDS:
        return None  # a name the book never capitalises is not this name
    return term if _exact(term).search(text) else None


def subsumed(terms: list[str], text: str) -> set[str]:
    """Terms that never occur on their own, only inside a longer term ("Los" of "Los
    Angeles"): they would only add a confusing entry. Candidates are found by shared words
    (CJK: among CJK terms), so a book with thousands of terms stays cheap."""
    by_word: dict[str, list[str]] = {}
    uncased = [t for t in terms if not has_case(t)]
    for term in terms:
        for word in set(term.split()):
            by_word.setdefault(word, []).append(term)
    spans: dict[str, list[tuple[int, int]]] = {}

    def where(term: str) -> list[tuple[int, int]]:
        if term not in spans:
            spans[term] = [m.span() for m in _exact(term).finditer(text)]
        return spans[term]

    out: set[str] = set()
    for short in terms:
        pool = uncased if not has_case(short) else by_word.get(short.split()[0], [])
        longer = [t for t in pool if len(t) > len(short) and _exact(short).search(t)]
        if not longer:
            continue
        covers = sorted(span for t in longer for span in where(t))
        if all(any(a <= s0 and e0 <= b for a, b in covers) for s0, e0 in where(short)):
            out.add(short)
    return out
