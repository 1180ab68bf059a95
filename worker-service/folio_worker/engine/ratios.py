"""How long a translation should be, by the scripts of the source and of the target.

A character carries very different amounts of text in different writing systems: a Chinese
sentence of 30 characters is an English one of about 100. So the expected length of an
answer depends on the *pair*, not on the target alone. ``TYPICAL_RATIO`` gives translated
characters per source character for literary prose (measured on parallel editions and on
published estimates for these pairs; see docs/engine.md). The checks accept a wide band
around it (``BAND``), the estimates use it as it is.

Scripts are grouped by how much a character holds: ``han`` (Chinese; Japanese kanji are
part of ``japanese``), ``japanese`` (kana with kanji), ``hangul`` and ``alphabetic``
(Latin, Cyrillic, Greek, Arabic, Hebrew, Thai, Devanagari: all within ~20 % of each other).
"""

from __future__ import annotations

DENSE = ("han", "japanese", "hangul")

# (source group, target group) -> typical target/source character ratio.
TYPICAL_RATIO: dict[tuple[str, str], float] = {
    ("alphabetic", "alphabetic"): 1.05,  # en->de ~1.2, en->fr ~1.15, de->en ~0.85, ru->en ~1.05
    ("alphabetic", "han"): 0.33,  # en->zh 0.25-0.45
    ("alphabetic", "japanese"): 0.5,  # en->ja 0.4-0.6
    ("alphabetic", "hangul"): 0.5,  # en->ko 0.4-0.6
    ("han", "alphabetic"): 3.4,  # zh->en 2.5-4.5
    ("han", "japanese"): 1.4,  # zh->ja: kana endings and particles added
    ("han", "hangul"): 1.5,  # zh->ko
    ("han", "han"): 1.0,  # zh-Hans <-> zh-Hant
    ("japanese", "alphabetic"): 2.2,  # ja->en 1.6-3.0
    ("japanese", "han"): 0.7,  # ja->zh
    ("japanese", "hangul"): 1.05,  # ja->ko: about one syllable per kana/kanji
    ("japanese", "japanese"): 1.0,
    ("hangul", "alphabetic"): 2.1,  # ko->en 1.6-2.8
    ("hangul", "han"): 0.65,  # ko->zh
    ("hangul", "japanese"): 1.0,  # ko->ja
    ("hangul", "hangul"): 1.0,
}
# The checks accept [typical * low, typical * high]: passages vary (dialogue, verse, names
# kept in the source spelling), and a false "wrong length" costs a retry or a failed unit.
BAND = (0.45, 1.9)

# UTF-8 bytes per character of text in each script, for token estimates.
BYTES_PER_CHAR = {
    "latin": 1.05,
    "cyrillic": 1.85,
    "greek": 1.85,
    "arabic": 1.8,
    "hebrew": 1.8,
    "thai": 2.9,
    "devanagari": 2.7,
    "han": 3.0,
    "japanese": 3.0,
    "hangul": 2.85,
}


def group(script: str) -> str:
    return script if script in DENSE else "alphabetic"


def typical_ratio(source_script: str, target_script: str) -> float:
    return TYPICAL_RATIO[group(source_script), group(target_script)]


def length_bounds(source_script: str, target_script: str) -> tuple[float, float]:
    typical = typical_ratio(source_script, target_script)
    return typical * BAND[0], typical * BAND[1]


def bytes_per_char(script: str) -> float:
    return BYTES_PER_CHAR.get(script, 1.1)
