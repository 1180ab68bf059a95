"""Deterministic pseudo-translation.

Tests and benchmarks of a translation pipeline need output that (a) is visibly *not* the
source, so "forgot to translate" bugs show, (b) keeps the source's layout (paragraphs, lines,
punctuation, digits) so segment alignment can be checked, (c) is word-level consistent across
requests, so glossary/name-consistency logic has something to verify, and (d) has a realistic
length ratio, so size-dependent code (chunking, token budgets, storage) behaves as with a real
model. Everything is derived from SHA-256, never ``hash()``, so output is identical across
processes and runs.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from itertools import repeat
from typing import Literal

from folio_fakellm._reference import REFERENCE_TEXT
from folio_fakellm.scripts import (
    HANZI_TRADITIONAL,
    cyrillic_word,
    source_script,
    translate_foreign,
)

# zht: Chinese in Traditional characters; ru: languages written in Cyrillic.
LanguageKind = Literal["ko", "ja", "zh", "zht", "ru", "other"]

DEFAULT_RATIOS: dict[LanguageKind, float] = {
    "ko": 0.5,
    "ja": 0.45,
    "zh": 0.35,
    "zht": 0.35,
    "ru": 1.08,
    "other": 1.1,
}
# How many characters a script needs for the text English writes in one (its "density"),
# for sources not in the Latin alphabet.
SOURCE_DENSITY = {"latin": 1.0, "cyrillic": 1.0, "hangul": 0.5, "japanese": 0.45, "han": 0.32}

# Words are runs of letters; everything else (spaces, punctuation, digits, line breaks) is
# copied through unchanged, which is what keeps layout and punctuation in place.
_SPLIT_RE = re.compile(r"([^\W\d_]+)")
_HSPACE_RE = re.compile(r"[ \t\u00a0]+")

_LANG_ALIASES: dict[str, LanguageKind] = {
    "korean": "ko",
    "ko": "ko",
    "kor": "ko",
    "kr": "ko",
    "한국어": "ko",
    "한국말": "ko",
    "japanese": "ja",
    "ja": "ja",
    "jp": "ja",
    "jpn": "ja",
    "日本語": "ja",
    "chinese": "zh",
    "zh": "zh",
    "zho": "zh",
    "chi": "zh",
    "cn": "zh",
    "mandarin": "zh",
    "cantonese": "zh",
    "中文": "zh",
    "汉语": "zh",
    "漢語": "zh",
    "简体中文": "zh",
    "繁體中文": "zht",
    "russian": "ru",
    "ru": "ru",
    "rus": "ru",
    "ukrainian": "ru",
    "uk": "ru",
    "bulgarian": "ru",
    "bg": "ru",
    "русский": "ru",
}
_TRADITIONAL_MARKS = {"traditional", "hant", "tw", "hk", "mo", "taiwan", "hong", "macao", "macau"}


def _dedupe(chars: str) -> str:
    return "".join(dict.fromkeys(chars))


# Common syllables/characters, so the output looks like text in that script.
HANGUL = _dedupe(
    "가각간갈감강개거건걸검것게겨결경계고곡공과관광교구국군권귀그근글금기길김나날남내너년노누는늘니"
    "다단달담대더데도동두드들등디라락란람랑래러런레려력로론료루류르른를리린마만말망매머먼메면명모목"
    "무문물미민바박반발방배버번법벽변별보복본부북분불비빈사산살상새서석선설성세소속손송수숙순스슬습"
    "시신실심아악안알암앙애야약양어언얼엄업에여역연열염영예오온올완왕외요용우운울원월위유육윤은을음"
    "의이인일임입자작잔장재저전절점정제조족존종주준중지진질집차착찬창채처천철청체초촌총추축춘출충치"
    "친칠카코크타탄태터토통투트파판패평포표풀프피하학한할함합항해행향허현형호혼화환활황회효후훈휘흐"
    "흥희히"
)
HIRAGANA = _dedupe(
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
    "がぎぐげござじずぜぞだでどばびぶべぼぱぴぷぺぽ"
)
KATAKANA = _dedupe(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
    "ガギグゲゴザジズゼゾダデドバビブベボパピプペポ"
)
HANZI = _dedupe(
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可"
    "她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三"
    "已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明"
)

# Pseudo-localisation table: every ASCII letter gets an accented look-alike, so no plain
# letter (in particular no plain vowel) survives and the output is still readable.
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_LOWER_ACC = "àƀçðêƒĝĥîĵķļɱñøþǫŕšţûṽŵẋýž"
_UPPER_ACC = "ÀƁÇÐÊƑĜĤÎĴĶĻṀÑØÞǪŔŠŢÛṼŴẊÝŽ"
_LATIN_MAP: dict[str, str] = {
    **dict(zip(_LOWER, _LOWER_ACC, strict=True)),
    **dict(zip(_LOWER.upper(), _UPPER_ACC, strict=True)),
}
_VOWELS = "aeiouy"
# Minimum word length (letters) that gets padded in the Latin pseudo-locale.
_PAD_MIN_LEN = 4


def language_kind(target_language: str) -> LanguageKind:
    """Resolve a language name or code (any case, e.g. ``Korean``, ``ko-KR``) to its kind."""
    t = target_language.strip().casefold()
    if t in _LANG_ALIASES:
        return _LANG_ALIASES[t]
    parts = [p for p in re.split(r"[\s\-_()/,]+", t) if p]
    for part in parts:
        if part in _LANG_ALIASES:
            kind = _LANG_ALIASES[part]
            if kind == "zh" and _TRADITIONAL_MARKS.intersection(parts):
                return "zht"
            if (kind == "ru" and "latn" in parts) or (kind == "ru" and "latin" in parts):
                return "other"
            return kind
    return "other"


def _digest(key: str, size: int) -> bytes:
    return hashlib.shake_256(key.encode("utf-8")).digest(size)


@lru_cache(maxsize=262_144)  # words repeat: hashing each occurrence dominated the CPU
def _unit(key: str) -> float:
    """Deterministic pseudo-random number in [0, 1) derived from ``key``."""
    return int.from_bytes(_digest(key, 8), "big") / 2.0**64


def _target_len(kind: LanguageKind, word: str, scale: float) -> int:
    """Output length of one word: a function of the word only (dithered rounding)."""
    n = len(word)
    u = _unit(f"len|{kind}|{word.casefold()}")
    if kind in ("other", "ru"):
        if n < _PAD_MIN_LEN:
            return n
        return n + max(0, math.floor(n * scale + u))
    return max(1, math.floor(n * scale + u))


def _tokens(text: str) -> list[str]:
    """Alternating [non-word, word, non-word, ..., non-word] pieces of ``text``."""
    return _SPLIT_RE.split(text)


def _kept_nonword(kind: LanguageKind, pieces: list[str], i: int) -> str:
    """Non-word piece as emitted; Japanese/Chinese drop plain spaces between two words."""
    piece = pieces[i]
    if kind in ("ja", "zh", "zht") and 0 < i < len(pieces) - 1 and _HSPACE_RE.fullmatch(piece):
        return ""
    return piece


@lru_cache(maxsize=262_144)
def _render_cjk(kind: LanguageKind, word: str, length: int) -> str:
    if kind == "ko":
        alphabet = HANGUL
    elif kind == "ja":
        alphabet = KATAKANA if word[:1].isupper() else HIRAGANA
    elif kind == "zht":
        alphabet = HANZI_TRADITIONAL
    else:
        alphabet = HANZI
    raw = _digest(f"chars|{kind}|{word.casefold()}", 2 * length)
    out = []
    for k in range(length):
        idx = int.from_bytes(raw[2 * k : 2 * k + 2], "big") % len(alphabet)
        ch = alphabet[idx]
        if k == 0 and ch in "んン":  # a kana word does not start with n
            ch = alphabet[(idx + 1) % len(alphabet)]
        out.append(ch)
    return "".join(out)


def _latin_char(ch: str) -> str:
    if ch in _LATIN_MAP:
        return _LATIN_MAP[ch]
    base = unicodedata.normalize("NFD", ch)[:1]
    if base in _LATIN_MAP and base != ch:
        return ch  # already accented: keep it
    return ch


def _render_latin(word: str, length: int) -> str:
    body = "".join(_latin_char(c) for c in word)
    pad = length - len(word)
    if pad <= 0:
        return body
    vowels = [c for c in word.casefold() if c in _VOWELS]
    vowel = vowels[-1] if vowels else "a"
    pad_char = _LATIN_MAP[vowel.upper() if word.isupper() and len(word) > 1 else vowel]
    return body + pad_char * pad


@lru_cache(maxsize=262_144)  # a book repeats its words: render each one once
def _render_word(kind: LanguageKind, word: str, scale: float) -> str:
    length = _target_len(kind, word, scale)
    if kind == "other":
        return _render_latin(word, length)
    if kind == "ru":
        return cyrillic_word(word, length)
    return _render_cjk(kind, word, length)


def _render(text: str, kind: LanguageKind, scale: float) -> str:
    pieces = _tokens(text)  # [non-word, word, non-word, ..., non-word]
    words = pieces[1::2]
    pieces[1::2] = map(_render_word, repeat(kind, len(words)), words, repeat(scale, len(words)))
    if kind in ("ja", "zh", "zht"):
        for i in range(2, len(pieces) - 1, 2):
            pieces[i] = _kept_nonword(kind, pieces, i)
    return "".join(pieces)


def _length_fn(text: str, kind: LanguageKind) -> Callable[[float], int]:
    pieces = _tokens(text)
    fixed = sum(len(_kept_nonword(kind, pieces, i)) for i in range(0, len(pieces), 2))
    words = pieces[1::2]

    def total(scale: float) -> int:
        return fixed + sum(_target_len(kind, w, scale) for w in words)

    return total


@lru_cache(maxsize=64)
def calibrated_scale(kind: LanguageKind, ratio: float) -> float:
    """Per-word length scale that makes the reference prose come out at ``ratio``.

    A ratio below what the script allows (one character per word for CJK, no shortening for
    Latin) is clamped to that minimum.
    """
    total = _length_fn(REFERENCE_TEXT, kind)
    goal = ratio * len(REFERENCE_TEXT)
    lo, hi = 0.0, 16.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if total(mid) < goal:
            lo = mid
        else:
            hi = mid
    return hi if abs(total(hi) - goal) <= abs(total(lo) - goal) else lo


def pseudo_translate(
    text: str,
    target_language: str,
    ratio: float | None = None,
    source_density: dict[str, float] | None = None,
) -> str:
    """Pseudo-translate ``text`` into ``target_language``.

    ``ratio`` is the wanted output/input character ratio over typical English prose
    (defaults: Korean 0.5, Japanese 0.45, Chinese 0.35, Russian 1.08, other 1.1). A source
    in another script is first weighed by its density (``SOURCE_DENSITY``: a Chinese text
    says in 32 characters what English says in 100), so zh->en comes out about 3.4 times
    longer and ja->ko about as long. Each word's rendering depends only on the word, the
    language and the ratio, so the same word renders identically everywhere.
    """
    kind = language_kind(target_language)
    if ratio is None:
        ratio = DEFAULT_RATIOS[kind]
    if ratio <= 0:
        raise ValueError("ratio must be positive")
    script = source_script(text)
    if script != "latin":
        density = (source_density or SOURCE_DENSITY).get(script, 1.0)
        return translate_foreign(text, kind, ratio / density, script)
    return _render(text, kind, calibrated_scale(kind, ratio))
