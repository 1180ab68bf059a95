"""Language names for prompts, writing systems, and a small source-language detector.

The detector only needs to tell the engine what it is translating *from* (for prompts and
the untranslated-text check): scripts settle CJK, Cyrillic and the like; for Latin-script
text a handful of very common function words decides between the major languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

NAMES = {
    "ko": "Korean",
    "ja": "Japanese",
    "zh": "Chinese",
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
    "uk": "Ukrainian",
    "pl": "Polish",
    "nl": "Dutch",
    "sv": "Swedish",
    "tr": "Turkish",
    "vi": "Vietnamese",
    "th": "Thai",
    "ar": "Arabic",
    "he": "Hebrew",
    "hi": "Hindi",
    "id": "Indonesian",
    "cs": "Czech",
    "el": "Greek",
}
CODES = {name.lower(): code for code, name in NAMES.items()}

# The script a language is written in (what an untranslated passage would not be).
SCRIPT = {
    "ko": "hangul",
    "ja": "japanese",
    "zh": "han",
    "ru": "cyrillic",
    "uk": "cyrillic",
    "th": "thai",
    "ar": "arabic",
    "he": "hebrew",
    "hi": "devanagari",
    "el": "greek",
}
CJK = frozenset({"ko", "ja", "zh"})
# Written without spaces between words: pieces of one paragraph join with nothing between.
# (Korean separates words with spaces.)
UNSPACED = frozenset({"ja", "zh", "th"})

_STOPWORDS = {
    "en": "the and of to a in that it was he i you his her with as for had not but on at",
    "fr": "le la les et de des un une est que il elle dans pour pas au qui ne se",
    "de": "der die das und ist nicht ich sie er zu den mit sich des auf ein eine dem",
    "es": "el la los las y de que en un una es por con no se su para al lo",
    "it": "il la e di che un una non per con del della sono si lo gli le ma",
    "pt": "o a os as e de que um uma não em para com se por do da ao mas",
    "nl": "de het een en van is dat niet ik je hij zij op te met voor zijn",
}
_STOP = {lang: set(words.split()) for lang, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def code_of(language: str) -> str:
    """A language code from a code or an English name ('Korean' -> 'ko')."""
    value = language.strip()
    lowered = value.lower()
    if lowered in CODES:
        return CODES[lowered]
    return lowered.split("-")[0].split("_")[0]


def language_name(code_or_name: str) -> str:
    return NAMES.get(code_of(code_or_name), code_or_name.strip())


def script_of_char(char: str) -> str | None:
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    for marker, script in (
        ("HANGUL", "hangul"),
        ("HIRAGANA", "japanese"),
        ("KATAKANA", "japanese"),
        ("CJK UNIFIED", "han"),
        ("CYRILLIC", "cyrillic"),
        ("LATIN", "latin"),
        ("GREEK", "greek"),
        ("ARABIC", "arabic"),
        ("HEBREW", "hebrew"),
        ("THAI", "thai"),
        ("DEVANAGARI", "devanagari"),
    ):
        if marker in name:
            return script
    return None


_SCRIPT_PATTERNS = {
    # Character classes by Unicode block: counting with C-level regex scans is two orders
    # of magnitude cheaper than asking unicodedata about every character of every answer.
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]"),
    "hangul": re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]"),
    "japanese": re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]"),
    "han": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "greek": re.compile(r"[\u0370-\u03ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff]"),
    "hebrew": re.compile(r"[\u0590-\u05ff]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
}


def script_profile(text: str, sample: int = 20000) -> Counter[str]:
    chunk = text[:sample]
    counts: Counter[str] = Counter()
    for script, pattern in _SCRIPT_PATTERNS.items():
        found = len(pattern.findall(chunk))
        if found:
            counts[script] = found
    return counts


def detect_language(text: str) -> str | None:
    profile = script_profile(text)
    if not profile:
        return None
    script, _ = profile.most_common(1)[0]
    if script == "hangul":
        return "ko"
    if script in ("japanese", "han"):
        return "ja" if profile["japanese"] > profile["han"] * 0.1 else "zh"
    if script == "cyrillic":
        return "ru"
    if script != "latin":
        return {v: k for k, v in SCRIPT.items()}.get(script)
    words = [w.lower() for w in _WORD.findall(text[:20000])]
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOP.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= 3 else "en"


def word_joiner(language: str) -> str:
    """What goes between two pieces of one paragraph in ``language``."""
    return "" if code_of(language) in UNSPACED else " "
