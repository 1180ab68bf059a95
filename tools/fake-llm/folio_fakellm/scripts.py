"""Pseudo-translation *from* any script, and *into* Cyrillic and Traditional Chinese.

A real model translating Chinese into English writes three to four times as many letters,
in words separated by spaces, with Western punctuation; one translating Japanese into Korean
writes about as many syllables as there were kana and kanji. This module gives the fake the
same shape for sources that are not in the Latin alphabet: each source word (a run of
Hangul or Cyrillic letters; two characters of a kanji/hanzi run; a katakana run, which is
usually a name) becomes one word of the target alphabet whose length follows the ratio of
the two scripts' densities. Everything is derived from SHA-256, like :mod:`.pseudo`.
"""

# ruff: noqa: RUF001  (full-width CJK punctuation is what this module handles)
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

# Letters of each script, as the source's script is judged (the first 2000 characters).
_SCRIPTS = {
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f]"),
    "kana": re.compile(r"[\u3040-\u30ff]"),
    "han": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "hangul": re.compile(r"[\uac00-\ud7af]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
}
_WORD_RE = re.compile(r"[^\W\d_]+")
_KATAKANA_RUN = re.compile(r"[\u30a0-\u30ff]+")
_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

LATIN_CONSONANTS = "bcdfghjklmnprstvwz"
LATIN_VOWELS = "aeiou"
CYRILLIC_CONSONANTS = "бвгджзклмнпрстфхцчш"
CYRILLIC_VOWELS = "аеиоуыя"
# Characters of Traditional Chinese text (mostly forms that differ from the Simplified ones).
HANZI_TRADITIONAL = "".join(
    dict.fromkeys(
        "的一是不了人我在有他這中大來上國個到說們為子和你地出道也時年得就那要下以生會自著去之過家學對"
        "可她裡後小麼心多天而能好都然沒日於起還發成事只作當想看文無開手十用主行方又如前所本見經頭面公同"
        "三已老從動兩長知民樣現分將外但身些與高意進把法此實回二理美點月明"
    )
)
_PUNCTUATION_TO_WESTERN = str.maketrans(
    {
        "。": ". ",
        "、": ", ",
        "，": ", ",
        "！": "! ",
        "？": "? ",
        "：": ": ",
        "；": "; ",
        "「": '"',
        "」": '" ',
        "『": '"',
        "』": '" ',
        "（": " (",
        "）": ") ",
        "…": "...",
        "・": " ",
        "　": " ",
    }
)
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_RE = re.compile(r"[ \t]+(?=[\n.,!?;:)\"]|$)")


def source_script(text: str) -> str:
    """``latin``, ``japanese``, ``han``, ``hangul`` or ``cyrillic`` (most letters wins)."""
    sample = text[:2000]
    counts = {name: len(pattern.findall(sample)) for name, pattern in _SCRIPTS.items()}
    best = max(counts, key=counts.__getitem__)
    if counts[best] == 0:
        return "latin"
    if best in ("kana", "han"):
        return "japanese" if counts["kana"] > counts["han"] * 0.1 else "han"
    return best


def _unit(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0**64


def _syllables(word: str, length: int, consonants: str, vowels: str, salt: str) -> str:
    raw = hashlib.shake_256(f"{salt}|{word}".encode()).digest(2 * length + 2)
    out = []
    for k in range(length):
        alphabet = vowels if k % 2 else consonants
        out.append(alphabet[raw[k] % len(alphabet)])
    return "".join(out)


@lru_cache(maxsize=262_144)
def render_word(word: str, kind: str, char_ratio: float, capital: bool) -> str:
    """One source word in the target alphabet, its length ``len(word) * char_ratio``."""
    length = max(1, int(len(word) * char_ratio + _unit(f"len|{kind}|{word}")))
    if kind in ("other", "ru"):
        if kind == "ru":
            text = _syllables(word, length, CYRILLIC_CONSONANTS, CYRILLIC_VOWELS, "ru")
        else:
            text = _syllables(word, length, LATIN_CONSONANTS, LATIN_VOWELS, "latin")
        return text.capitalize() if capital else text
    alphabet = cjk_alphabet(kind, capital)
    raw = hashlib.shake_256(f"chars|{kind}|{word}".encode()).digest(2 * length)
    chars = [
        alphabet[int.from_bytes(raw[2 * k : 2 * k + 2], "big") % len(alphabet)]
        for k in range(length)
    ]
    if chars[0] in "んン":
        chars[0] = alphabet[0]
    return "".join(chars)


def cjk_alphabet(kind: str, capital: bool) -> str:
    from folio_fakellm.pseudo import HANGUL, HANZI, HIRAGANA, KATAKANA

    if kind == "ko":
        return HANGUL
    if kind == "ja":
        return KATAKANA if capital else HIRAGANA
    return HANZI_TRADITIONAL if kind == "zht" else HANZI


def _pieces(run: str, size: int) -> list[tuple[str, bool]]:
    """A CJK run cut into pseudo-words: katakana runs whole (names), the rest by ``size``."""
    out: list[tuple[str, bool]] = []
    position = 0
    for match in _KATAKANA_RUN.finditer(run):
        out.extend(_cut(run[position : match.start()], size))
        out.append((match.group(0), True))
        position = match.end()
    out.extend(_cut(run[position:], size))
    return out


def _cut(text: str, size: int) -> list[tuple[str, bool]]:
    return [(text[i : i + size], False) for i in range(0, len(text), size)]


def translate_foreign(text: str, kind: str, char_ratio: float, script: str) -> str:
    """Pseudo-translate ``text`` written in ``script`` (not Latin) into ``kind``."""
    spaced = kind not in ("ja", "zh", "zht")
    out: list[str] = []
    position = 0
    for match in _WORD_RE.finditer(text):
        out.append(_between(text[position : match.start()], spaced, script))
        word = match.group(0)
        if _CJK_RUN.fullmatch(word):
            # Korean words hold about three syllables; English ones about two kanji's worth.
            size = 3 if kind == "ko" else 2
            rendered = [
                render_word(piece, kind, char_ratio, capital)
                for piece, capital in _pieces(word, size)
            ]
            out.append((" " if spaced else "").join(rendered))
        else:
            out.append(render_word(word, kind, char_ratio, word[:1].isupper()))
        position = match.end()
    out.append(_between(text[position:], spaced, script))
    result = "".join(out)
    if spaced and script in ("japanese", "han"):
        lines = result.split("\n")
        result = "\n".join(
            _SPACE_BEFORE_RE.sub("", _SPACES_RE.sub(" ", line)).strip() for line in lines
        )
    return result


def _between(gap: str, spaced: bool, script: str) -> str:
    if script in ("japanese", "han"):
        return gap.translate(_PUNCTUATION_TO_WESTERN) if spaced else gap
    if not spaced and gap.strip(" ") == "":
        return "" if "\n" not in gap else gap  # ja/zh write no spaces between words
    return gap


def cyrillic_word(word: str, length: int) -> str:
    """A Latin word of the source as a Cyrillic word of ``length`` letters."""
    text = _syllables(word.casefold(), length, CYRILLIC_CONSONANTS, CYRILLIC_VOWELS, "ru")
    return text.capitalize() if word[:1].isupper() else text
