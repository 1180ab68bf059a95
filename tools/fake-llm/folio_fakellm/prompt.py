"""What the fake reads out of a prompt: source text, target language, names, embedded schema.

Folio's clients wrap the text to translate in ``<source>…</source>`` and the language in
``<target_language>…</target_language>``; keying off these tags (instead of guessing from
free-form instructions) keeps the fake's behaviour predictable for test authors.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from folio_fakellm.faults import strip_markers

_TARGET_RE = re.compile(r"<target_language(?:\s[^>]*)?>(.*?)</target_language>", re.S)
_SCHEMA_RE = re.compile(r"<json_schema(?:\s[^>]*)?>(.*?)</json_schema>", re.S)

_APOSTROPHES = "'\u2019"
_NAME_WORD_RE = re.compile(rf"[^\W\d_]+(?:[{_APOSTROPHES}][^\W\d_]+)*")
_POSSESSIVE_RE = re.compile(rf"[{_APOSTROPHES}][sS]$")


def _strip_possessive(word: str) -> str:
    if len(word) > 2 and word[-2] in _APOSTROPHES:
        return _POSSESSIVE_RE.sub("", word)
    return word


_OPENERS = "\"\u201c\u2018'([\u00ab\u201e"
_CLOSERS = "\"\u201d\u2019')]\u00bb"
_SENTENCE_END = ".!?…"
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "messrs", "mme", "mlle"}

# Words that are capitalised because they start a sentence (or are titles), not names.
STOPWORDS = frozenset(
    """
    a an the i he she it we you they me him her us them my your his its our their mine yours
    hers ours theirs this that these those there here then than and but or nor so yet for of
    in on at to from by with without into onto upon about above below over under after before
    while when whenever where wherever why what which who whom whose how if unless until
    because since although though as once not no yes oh ah well now just all some any every
    each both either neither one two three first last next also even still perhaps maybe only
    very much many more most such again never always sometimes do does did is are was were be
    been being have has had will would shall should can could may might must let let's i'm
    i'll i've i'd it's don't didn't can't won't that's there's he's she's we're they're you're
    mr mrs ms dr st sir madam miss lady lord chapter part book
    """.split()
)


def _last_match(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.findall(text)
    return found[-1] if found else None


_SOURCE_OPEN_RE = re.compile(r"<source(?:\s[^>]*)?>")


def _last_source_block(text: str) -> str | None:
    """The text between the last ``</source>`` and the nearest ``<source>`` before it.

    Instructions often *mention* the tag ("translate the text in <source>"), so the
    first opening tag is not necessarily the block's.
    """
    end = text.rfind("</source>")
    if end < 0:
        return None
    openings = list(_SOURCE_OPEN_RE.finditer(text, 0, end))
    return text[openings[-1].end() : end] if openings else None


def source_block(text: str) -> str:
    """The last ``<source>`` block of a whole request's text, markers included ("" if none)."""
    return _last_source_block(text) or ""


def extract_source(user_texts: list[str], fallback: str = "") -> str:
    """The last ``<source>`` block across the user messages, else the last user message."""
    block = _last_source_block("\n\n".join(user_texts))
    if block is None:
        block = user_texts[-1] if user_texts else fallback
        # the control blocks are instructions, not text to translate
        block = _TARGET_RE.sub("", _SCHEMA_RE.sub("", block))
    return strip_markers(block).strip()


def extract_target_language(prompt: str, default: str) -> str:
    """The last ``<target_language>`` value anywhere in the prompt, else ``default``."""
    value = _last_match(_TARGET_RE, prompt)
    value = value.strip() if value else ""
    return value or default


def extract_embedded_schema(prompt: str) -> dict[str, Any] | None:
    """The JSON schema a client embedded between ``<json_schema>`` tags (json_object mode)."""
    block = _last_match(_SCHEMA_RE, prompt)
    if block is None:
        return None
    try:
        schema = json.loads(block.strip())
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


_WORD_BEFORE_RE = re.compile(r"([^\W\d_]+)$")


def _is_sentence_start(text: str, start: int) -> bool:
    """Whether the word beginning at ``start`` opens a sentence, paragraph or quotation."""
    if start == 0:
        return True
    if text[start - 1] in _OPENERS:
        return True  # directly attached opening quote/bracket: dialogue starts a sentence
    i = start - 1
    while i >= 0 and text[i].isspace():
        if text[i] == "\n":
            return True
        i -= 1
    if i < 0:
        return True
    while i >= 0 and text[i] in _CLOSERS:
        i -= 1
    if i < 0:
        return True
    if text[i] not in _SENTENCE_END:
        return False
    if text[i] == ".":
        # Only the word right before the full stop matters: look at a short window, not
        # the whole text before it (which made name extraction quadratic in the chunk).
        m = _WORD_BEFORE_RE.search(text[max(0, i - 40) : i])
        if m and m.group(1).casefold() in _ABBREVIATIONS:
            return False
    return True


def extract_names(text: str) -> list[str]:
    """Distinct name-like capitalised words of ``text`` in first-occurrence order.

    A capitalised word that is not a common/stop word counts as a name when it occurs at
    least once mid-sentence, or at least twice capitalised and never in lower case. Without
    any, the most frequent capitalised words are used, and without those, ``Name1``.
    """
    first_seen: dict[str, int] = {}
    mid: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    lowercase: set[str] = set()
    for m in _NAME_WORD_RE.finditer(text):
        word = _strip_possessive(m.group(0))
        if not word[0].isupper():
            lowercase.add(word.casefold())
            continue
        capitalised[word] += 1
        first_seen.setdefault(word, m.start())
        if not _is_sentence_start(text, m.start()):
            mid[word] += 1
    names = [
        w
        for w in sorted(first_seen, key=first_seen.__getitem__)
        if len(w) > 1
        and w.casefold() not in STOPWORDS
        and (mid[w] >= 1 or (capitalised[w] >= 2 and w.casefold() not in lowercase))
    ]
    if names:
        return names
    frequent = sorted(
        (w for w in capitalised if w not in ("I", "A")),
        key=lambda w: (-capitalised[w], first_seen[w]),
    )
    return frequent or ["Name1"]


_KATAKANA_NAME_RE = re.compile(r"[\u30a1-\u30fa\u30fc]{2,}(?:[\u30fb=][\u30a1-\u30fa\u30fc]{2,})*")


def candidate_terms(text: str) -> list[str]:
    """What a model lists as the excerpt's terms: its names, and, as real models do, a
    capitalised function word or two from the start of a sentence ("The", "And"). Japanese
    names are the katakana words."""
    names = extract_names(text)
    if names == ["Name1"]:
        katakana = list(dict.fromkeys(_KATAKANA_NAME_RE.findall(text)))
        if katakana:
            return katakana
        return names
    openers: list[str] = []
    for m in _NAME_WORD_RE.finditer(text):
        word = m.group(0)
        if (
            word[0].isupper()
            and word.casefold() in STOPWORDS
            and _is_sentence_start(text, m.start())
            and word not in openers
        ):
            openers.append(word)
            if len(openers) == 2:
                break
    phrases = _name_phrases(text, set(names))
    # A common word that is a name here ("and Will, you will not"): capitalised mid-sentence.
    named_words = [
        m.group(0)
        for m in _NAME_WORD_RE.finditer(text)
        if m.group(0)[0].isupper()
        and m.group(0).casefold() in STOPWORDS
        and len(m.group(0)) > 1
        and not _is_sentence_start(text, m.start())
    ]
    extra = [p for p in dict.fromkeys(phrases + named_words) if p not in names]
    return names + extra + [o for o in openers if o not in extra]


def _name_phrases(text: str, names: set[str]) -> list[str]:
    """Names of several words ("Will Harper", "Los Angeles"): runs of capitalised words
    separated by single spaces, at least one of them a name."""
    out: list[str] = []
    for m in re.finditer(r"[^\W\d_]+(?: [^\W\d_]+)+", text):
        run: list[str] = []
        for word in [*m.group(0).split(" "), ""]:
            if word[:1].isupper() and (word.casefold() not in STOPWORDS or not run):
                run.append(word)
                continue
            if len(run) > 1 and any(w in names for w in run):
                phrase = " ".join(run)
                if phrase not in out:
                    out.append(phrase)
            run = []
    return out
