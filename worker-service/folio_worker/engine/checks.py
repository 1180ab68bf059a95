"""Is a model's answer a usable translation? Cheap checks run on every answer.

They catch what users of book translators complain about most: silent gaps (empty
answers, truncated answers), passages left in the source language, and answers whose
length makes no sense for the language pair. A failed check means "ask again".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from folio_worker.engine.languages import CJK, SCRIPT, code_of, script_profile

# Plausible translated/source character-count ratios by target language.
LENGTH_RATIO = {"ko": (0.2, 1.6), "ja": (0.15, 1.6), "zh": (0.1, 1.3)}
DEFAULT_LENGTH_RATIO = (0.35, 3.0)
MIN_CHECKED_LENGTH = 200  # short texts (a title, "Yes.") vary too much to judge
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)


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
    target = code_of(target_language)
    if _untranslated(source, text, target, source_language, glossary_terms):
        return CheckFailure("untranslated", "the answer is still in the source language")
    if len(source) >= MIN_CHECKED_LENGTH:
        low, high = LENGTH_RATIO.get(target, DEFAULT_LENGTH_RATIO)
        ratio = len(text) / len(source)
        if not low <= ratio <= high:
            return CheckFailure(
                "length", f"the answer is {ratio:.2f}x the source length (expected {low}-{high})"
            )
    if paragraphs > 1 and len(split_paragraphs(text)) != paragraphs:
        return CheckFailure(
            "paragraphs",
            f"the answer has {len(split_paragraphs(text))} paragraphs, the source {paragraphs}",
        )
    return None


def _untranslated(
    source: str, text: str, target: str, source_language: str | None, glossary: tuple[str, ...]
) -> bool:
    if text == source.strip():
        return True
    target_script = SCRIPT.get(target, "latin")
    source_profile = script_profile(source)
    source_script = source_profile.most_common(1)[0][0] if source_profile else None
    cleaned = text
    for term in glossary:  # glossary renderings may legitimately keep source spellings
        cleaned = cleaned.replace(term, " ")
    profile = script_profile(cleaned)
    letters = sum(profile.values())
    if not letters:
        return False
    if (
        source_script
        and source_script != target_script
        and not (target in CJK and source_script in ("han", "japanese"))
    ):
        # Different writing systems: source-script letters in the answer are leftovers.
        return profile[source_script] / letters > 0.3
    if source_language and code_of(source_language) == target:
        return False
    source_words = {w.casefold() for w in _WORD.findall(source)}
    answer_words = [w.casefold() for w in _WORD.findall(cleaned)]
    if len(answer_words) < 8 or not source_words:
        return False
    shared = sum(1 for w in answer_words if w in source_words)
    return shared / len(answer_words) > 0.6
