"""Is a model's answer a usable translation? Cheap checks run on every answer.

They catch what users of book translators complain about most: silent gaps (empty
answers, truncated answers), passages left in the source language, and answers whose
length makes no sense for the language pair. A failed check means "ask again".
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from folio_worker.engine.languages import (
    CJK_SCRIPTS,
    code_of,
    script_of,
    script_profile,
    text_script,
)
from folio_worker.engine.ratios import length_bounds, typical_ratio

# Short texts (a title, "Yes.") vary too much to judge; measured in Latin-script characters
# (a Chinese source of 60 characters counts as about 200).
MIN_CHECKED_LENGTH = 200
# Share of the answer's word pairs (or CJK character pairs) found in the source beyond which
# the answer is a copy of it. A faithful translation shares names and numbers, rarely more
# than a fifth of its pairs, even between close languages or ja<->zh (shared kanji words).
COPIED_PAIRS = 0.5
# Share of an answer's letters in the source's script beyond which it was left untranslated.
LEFTOVER_LETTERS = 0.3
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3})*")
_SEPARATOR = re.compile(r"[.,\u00a0\u202f ]")
_CJK_RUN = re.compile(
    r"[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+"
)


@dataclass(frozen=True)
class CheckFailure:
    kind: str  # empty, truncated, untranslated, length, paragraphs
    detail: str


def split_paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def check_answer(
    source: str,
    answer: str,
    finish: str,
    *,
    target_language: str,
    source_language: str | None,
    paragraphs: int,
    glossary_terms: tuple[str, ...] = (),
) -> CheckFailure | None:
    text = answer.strip()
    if finish == "length":
        return CheckFailure("truncated", "the answer was cut off by the output limit")
    if not text:
        return CheckFailure("empty", "the answer was empty")
    source_profile = script_profile(source)
    source_script = text_script(source_profile)
    if untranslated(source, text, target_language, source_language, glossary_terms, source_script):
        return CheckFailure("untranslated", "the answer is still in the source language")
    if source_script and len(source) * typical_ratio(source_script, "latin") >= MIN_CHECKED_LENGTH:
        low, high = length_bounds(source_script, script_of(target_language))
        ratio = len(text) / len(source)
        if not low <= ratio <= high:
            return CheckFailure(
                "length",
                f"the answer is {ratio:.2f}x the source length (expected {low:.2f}-{high:.2f} "
                f"from {source_script} to {script_of(target_language)})",
            )
    if paragraphs > 1 and len(split_paragraphs(text)) != paragraphs:
        return CheckFailure(
            "paragraphs",
            f"the answer has {len(split_paragraphs(text))} paragraphs, the source {paragraphs}",
        )
    return None


def _numbers(text: str) -> set[str]:
    """Numbers written with digits (full-width ones too), without their group separators, so
    that 2,400 and 2.400 are one number."""
    return {_SEPARATOR.sub("", n) for n in _NUMBER.findall(unicodedata.normalize("NFKC", text))}


def missing_numbers(source: str, answer: str) -> set[str]:
    """Numbers of two digits or more in the source that the answer does not contain (models
    drop them now and then; single digits are often, rightly, written as words)."""
    wanted = {n for n in _numbers(source) if len(n) > 1}
    return wanted - _numbers(answer) if wanted else set()


def untranslated(
    source: str,
    text: str,
    target_language: str,
    source_language: str | None,
    glossary: tuple[str, ...] = (),
    source_script: str | None = None,
) -> bool:
    """True when the answer is (largely) the source left as it was.

    Two signals, whatever the pair: letters of the source's script that the target does not
    use (Japanese kana in a Chinese answer, Latin in a Korean one), and pairs of words (or of
    CJK characters) copied from the source, which also works when both sides share a script
    (en->de, ja->zh kanji, pt->es).
    """
    if text == source.strip():
        return True
    if source_script is None:
        source_script = text_script(script_profile(source))
    target_script = script_of(target_language)
    cleaned = text
    for term in glossary:  # glossary renderings may legitimately keep source spellings
        if term:
            cleaned = cleaned.replace(term, " ")
    profile = script_profile(cleaned)
    letters = sum(profile.values())
    if not letters or source_script is None:
        return False
    if _leftover_share(profile, letters, source_script, target_script) > LEFTOVER_LETTERS:
        return True
    if source_language and code_of(source_language) == code_of(target_language):
        return False  # a variant of the same language (zh-Hans -> zh-Hant) may share much
    cjk = source_script in CJK_SCRIPTS and target_script in CJK_SCRIPTS
    if source_script != target_script and not cjk:
        return False  # nothing to copy from: the leftover letters above were the test
    return copied_share(source, cleaned, cjk=cjk) > COPIED_PAIRS


def _leftover_share(profile, letters: int, source_script: str, target_script: str) -> float:  # type: ignore[no-untyped-def]
    """Share of the answer's letters in a script the source uses and the target does not."""
    if source_script == target_script:
        return 0.0
    if source_script == "japanese":
        # Japanese is kana + kanji: kana are leftovers for any target; kanji only for a
        # target without them.
        foreign = profile["japanese"] + (0 if target_script == "han" else profile["han"])
    elif source_script == "han":
        foreign = 0 if target_script == "japanese" else profile["han"]
    else:
        foreign = profile[source_script]
    return foreign / letters


def _pairs(text: str, cjk: bool) -> list[tuple[str, str]]:
    if cjk:
        return [(run[i], run[i + 1]) for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
    words = [w.casefold() for w in _WORD.findall(text)]
    return list(itertools.pairwise(words))


def copied_share(source: str, answer: str, *, cjk: bool | None = None) -> float:
    """Share of the answer's adjacent word pairs (CJK: character pairs) that occur in the
    source. 0 when the answer is too short to judge."""
    if cjk is None:
        cjk = (
            text_script(script_profile(answer)) in CJK_SCRIPTS
            and text_script(script_profile(source)) in CJK_SCRIPTS
        )
    answer_pairs = _pairs(answer, cjk)
    if len(answer_pairs) < (12 if cjk else 8):
        return 0.0
    source_pairs = set(_pairs(source, cjk))
    if not source_pairs:
        return 0.0
    shared = sum(1 for pair in answer_pairs if pair in source_pairs)
    return shared / len(answer_pairs)
