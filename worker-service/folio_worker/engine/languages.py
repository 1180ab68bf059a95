"""Languages: BCP 47 tags, their names for prompts, their writing systems, and detection.

Tags are parsed with ``langcodes`` (CLDR data), so script and region variants survive:
``zh-TW`` is Traditional Chinese, ``pt-BR`` Brazilian Portuguese, ``sr-Latn`` Serbian in the
Latin alphabet. The *script* a tag is written in (its explicit subtag, else the likely one)
is what the checks expect an answer to be in. Source-language detection uses ``lingua``
(offline n-gram models) over a sample of the book, restricted to the languages below.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import langcodes

# Scripts the engine tells apart, by ISO 15924 code. Everything not here counts as the
# Latin alphabet's kind (alphabetic, spaced) for length expectations.
_ISO_SCRIPT = {
    "Kore": "hangul",
    "Hang": "hangul",
    "Jpan": "japanese",
    "Hira": "japanese",
    "Kana": "japanese",
    "Hans": "han",
    "Hant": "han",
    "Hani": "han",
    "Latn": "latin",
    "Cyrl": "cyrillic",
    "Grek": "greek",
    "Arab": "arabic",
    "Hebr": "hebrew",
    "Thai": "thai",
    "Deva": "devanagari",
}
CJK_SCRIPTS = frozenset({"hangul", "japanese", "han"})
# Written without spaces between words: pieces of one paragraph join with nothing between.
# (Korean separates words with spaces.)
UNSPACED_SCRIPTS = frozenset({"japanese", "han", "thai"})


@dataclass(frozen=True)
class LanguageTag:
    """A parsed language: ``code`` is the primary subtag (``zh``), ``tag`` the normalised
    BCP 47 tag as given (``zh-Hant``), ``script`` the engine's name of its writing system."""

    code: str
    tag: str
    script: str
    iso_script: str | None
    name: str  # for prompts: "Chinese (Traditional)", "Portuguese (Brazil)"


@lru_cache(maxsize=512)
def parse_language(value: str) -> LanguageTag:
    """A tag, or an English name ("Korean", "Brazilian Portuguese"), as a ``LanguageTag``.

    Unknown input keeps its text as the name and counts as Latin-script, so a prompt still
    names what the user asked for.
    """
    raw = value.strip().replace("_", "-")
    language: langcodes.Language | None = None
    try:
        candidate = langcodes.Language.get(raw)
        if candidate.is_valid() and candidate.language:
            language = candidate
    except (langcodes.LanguageTagError, ValueError):
        language = None
    if language is None:
        try:
            language = langcodes.find(raw)
        except LookupError:
            code = raw.lower().split("-")[0] or "und"
            return LanguageTag(code, raw or "und", "latin", None, raw or code)
    likely = language.maximize()
    iso_script = language.script or likely.script
    tag = language.to_tag()
    if language.language == "zh" and not language.script:
        # Chinese is always named with its script: a model told only "Chinese" picks one.
        language = language.update_dict({"script": likely.script})
    name = language.display_name("en")
    return LanguageTag(
        code=language.language or "und",
        tag=tag,
        script=_ISO_SCRIPT.get(iso_script or "", "latin"),
        iso_script=iso_script,
        name=name,
    )


def code_of(language: str) -> str:
    """The primary language subtag, from a tag or an English name ('Korean' -> 'ko')."""
    return parse_language(language).code


def normalise_tag(language: str) -> str:
    """The BCP 47 tag for metadata (``zh-tw`` -> ``zh-TW``; 'Korean' -> 'ko')."""
    return parse_language(language).tag


def language_name(code_or_name: str) -> str:
    """The English name a prompt uses, variants included ('zh-TW' -> 'Chinese (Traditional,
    Taiwan)')."""
    return parse_language(code_or_name).name


def script_of(language: str) -> str:
    """The writing system text in ``language`` is written in (``sr-Latn`` -> latin)."""
    return parse_language(language).script


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
    # Runs, not single characters: a match per word, not per letter, to count.
    # "japanese" counts kana only; kanji are "han".
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+"),
    "hangul": re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+"),
    "japanese": re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]+"),
    "han": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]+"),
    "greek": re.compile(r"[\u0370-\u03ff]+"),
    "arabic": re.compile(r"[\u0600-\u06ff]+"),
    "hebrew": re.compile(r"[\u0590-\u05ff]+"),
    "thai": re.compile(r"[\u0e00-\u0e7f]+"),
    "devanagari": re.compile(r"[\u0900-\u097f]+"),
}


_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ASCII = bytes(range(128))


def script_profile(text: str, sample: int = 20000) -> Counter[str]:
    """Letters per script (kana under "japanese", kanji/hanzi under "han")."""
    chunk = text[:sample]
    # ASCII letters are counted on the UTF-8 bytes (a C-level delete); the patterns scan
    # only the non-ASCII characters, which are few in a Latin text: each scan of the whole
    # text had cost about as much as all the rest of an answer's checks.
    data = chunk.encode("utf-8", "surrogatepass")
    found = dict.fromkeys(_SCRIPT_PATTERNS, 0)
    found["latin"] = len(data) - len(data.translate(None, _ASCII_LETTERS))
    if not chunk.isascii():
        rest = data.translate(None, _ASCII).decode("utf-8", "surrogatepass")
        for script, pattern in _SCRIPT_PATTERNS.items():
            # letters in runs of the script = the characters a substitution removes
            found[script] += len(rest) - len(pattern.sub("", rest))
    return Counter({script: n for script, n in found.items() if n})


def text_script(profile: Counter[str]) -> str | None:
    """The writing system of a text from its profile: Japanese is kanji mixed with kana
    (any real Japanese prose has well over a tenth of kana among them)."""
    if not profile:
        return None
    script = profile.most_common(1)[0][0]
    if script in ("han", "japanese"):
        return "japanese" if profile["japanese"] > profile["han"] * 0.1 else "han"
    return script


def word_joiner(language: str) -> str:
    """What goes between two pieces of one paragraph in ``language``."""
    return "" if script_of(language) in UNSPACED_SCRIPTS else " "


# ---- detection --------------------------------------------------------------------------

# Languages the detector chooses among (lingua's names). A closed list keeps it accurate
# and its memory small; each model loads on first use.
_DETECTABLE = (
    "ENGLISH FRENCH GERMAN SPANISH ITALIAN PORTUGUESE DUTCH SWEDISH DANISH BOKMAL FINNISH "
    "POLISH CZECH SLOVAK SLOVENE CROATIAN HUNGARIAN ROMANIAN TURKISH VIETNAMESE INDONESIAN "
    "MALAY TAGALOG RUSSIAN UKRAINIAN BULGARIAN SERBIAN GREEK ARABIC HEBREW PERSIAN HINDI "
    "THAI JAPANESE CHINESE KOREAN LATIN CATALAN ESTONIAN LATVIAN LITHUANIAN"
)
_detector = None
_detector_lock = threading.Lock()
DETECTION_SAMPLE = 3000  # characters, taken from three places of the book


def _get_detector():  # type: ignore[no-untyped-def]
    global _detector
    with _detector_lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            languages = [getattr(Language, name) for name in _DETECTABLE.split()]
            # Low accuracy mode (trigrams only) is reliable on a book's sample of several
            # sentences, and loads in a fraction of the time and memory.
            builder = LanguageDetectorBuilder.from_languages(*languages)
            _detector = builder.with_low_accuracy_mode().build()
        return _detector


def _sample(text: str, size: int = DETECTION_SAMPLE) -> str:
    if len(text) <= size:
        return text
    third = size // 3
    middle = len(text) // 2
    return "\n".join((text[:third], text[middle - third // 2 : middle + third // 2], text[-third:]))


def detect_language(text: str) -> str | None:
    """The book's language as a tag (``pl``, ``zh-Hant``), or None for text without letters.

    Chinese is told apart by script: Traditional characters that have a different
    Simplified form are common in any Traditional text and absent from Simplified text.
    """
    profile = script_profile(text)
    if not profile:
        return None
    sample = _sample(text)
    found = _get_detector().detect_language_of(sample)
    if found is None:
        script = text_script(profile)
        return {"hangul": "ko", "japanese": "ja", "han": "zh", "cyrillic": "ru"}.get(
            script or "", "en"
        )
    code = found.iso_code_639_1.name.lower()
    if code == "nb":
        return "nb"
    if code == "zh":
        return "zh-Hant" if _traditional_share(sample) > 0.05 else "zh-Hans"
    if code == "sr" and profile["latin"] > profile["cyrillic"]:
        return "sr-Latn"
    return code


# Frequent characters whose Traditional form differs from the Simplified one (and back).
_TRADITIONAL = set("們這個說來時為會對國學後點還經麼開長過沒與們見話裡頭樣發問關門當實現從進動體")
_SIMPLIFIED = set("们这个说来时为会对国学后点还经么开长过没与们见话里头样发问关门当实现从进动体")


def _traditional_share(text: str) -> float:
    traditional = sum(1 for c in text if c in _TRADITIONAL)
    simplified = sum(1 for c in text if c in _SIMPLIFIED)
    total = traditional + simplified
    return traditional / total if total else 0.0
