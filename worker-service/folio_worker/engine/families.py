"""Name families: the forms of one name that must be rendered alike.

"Gregor Samsa", "Gregor" and "Mr. Samsa" share words; CJK names share characters instead:
林小雨 is also 小雨 (her given name) and 林 (her family), グレゴール・ザムザ is also
グレゴール. Related terms go to the glossary in one batch (so the model renders the parts
from the whole), and a character mentioned by a part of the name is the same character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from folio_worker.engine.languages import script_of_char

_LATIN_WORDS = re.compile(r"\w{3,}")
_CJK_PARTS = re.compile(r"[・·=\uff1d\s]+")  # name separators, full-width "=" too


def is_cjk(term: str) -> bool:
    return any(script_of_char(c) in ("han", "japanese", "hangul") for c in term)


def family_key(term: str) -> list[str]:
    """The parts by which terms are related: words of 3+ letters, or the parts of a CJK
    name written with separators (katakana names: given・family)."""
    if is_cjk(term):
        return [p for p in _CJK_PARTS.split(term) if len(p) >= 2]
    return _LATIN_WORDS.findall(term.casefold())


def alias_map(names: Sequence[str]) -> dict[int, int]:
    """For names that are a short form of another one in the list, the index of the full
    name: a CJK name that ends a longer one (the given name 小雨 of 林小雨, at least two
    characters) or is one of its separated parts (グレゴール of グレゴール・ザムザ), or a
    one-word name that is the first word of a longer name (Gregor of Gregor Samsa). A
    family name alone is not an alias: a family has many members."""
    out: dict[int, int] = {}
    cjk = [(i, n) for i, n in enumerate(names) if is_cjk(n)]
    for i, short in cjk:
        compact = _CJK_PARTS.sub("", short)
        if len(compact) < 2:
            continue
        longer = [
            (len(full), j)
            for j, full in cjk
            if j != i
            and len(_CJK_PARTS.sub("", full)) > len(compact)
            and (_CJK_PARTS.sub("", full).endswith(compact) or short in _CJK_PARTS.split(full))
        ]
        if longer:
            out[i] = min(longer)[1]
    firsts: dict[str, list[int]] = {}
    for j, full in enumerate(names):
        words = full.split()
        if len(words) > 1 and not is_cjk(full):
            firsts.setdefault(words[0], []).append(j)
    for i, short in enumerate(names):
        if " " not in short.strip() and not is_cjk(short) and len(firsts.get(short, [])) == 1:
            out[i] = firsts[short][0]
    return out
