"""The answer checks for every language pair: faithful translations pass, copies and
answers of the wrong length fail, whatever the scripts of the two sides."""

# ruff: noqa: RUF001  (full-width CJK punctuation is the subject of these tests)
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from folio_worker.engine.checks import check_answer, copied_share, missing_numbers, untranslated
from folio_worker.engine.ratios import length_bounds

PASSAGES = {
    k: v
    for k, v in json.loads(Path(__file__).with_name("passages.json").read_text("utf-8")).items()
    if not k.startswith("_")
}
PAIRS = [(s, t) for s, t in itertools.permutations(PASSAGES, 2)]


def check(source_lang: str, target_lang: str, answer: str | None = None):
    return check_answer(
        PASSAGES[source_lang],
        PASSAGES[target_lang] if answer is None else answer,
        "stop",
        target_language=target_lang,
        source_language=source_lang,
        paragraphs=1,
    )


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_a_faithful_translation_passes_for_every_pair(source, target):
    assert check(source, target) is None


def test_chinese_to_english_at_three_and_a_half_times_the_length_passes():
    source = PASSAGES["zh-Hans"]
    answer = (PASSAGES["en"] + " ") * 2
    answer = answer[: int(len(source) * 3.5)]
    assert (
        check_answer(
            source, answer, "stop", target_language="en", source_language="zh", paragraphs=1
        )
        is None
    )
    low, high = length_bounds("han", "latin")
    assert low <= 2.5 and high >= 4.5
    low, high = length_bounds("latin", "han")
    assert low <= 0.25 and high >= 0.45


@pytest.mark.parametrize(
    ("source", "target"),
    [("zh-Hans", "en"), ("ja", "en"), ("ko", "en"), ("en", "de"), ("ru", "en")],
)
def test_an_answer_far_too_short_for_the_pair_fails_on_length(source, target):
    text = PASSAGES[target]
    short = text[: len(text) // 4]
    failure = check(source, target, short)
    assert failure is not None and failure.kind == "length"


@pytest.mark.parametrize(("source", "target"), [("en", "zh-Hans"), ("en", "ja"), ("en", "ko")])
def test_an_answer_far_too_long_for_the_pair_fails_on_length(source, target):
    padded = " ".join([PASSAGES[target]] * 5)
    failure = check(source, target, padded)
    assert failure is not None and failure.kind == "length"


@pytest.mark.parametrize(("source", "target"), PAIRS[:40])
def test_the_source_given_back_is_untranslated(source, target):
    failure = check(source, target, PASSAGES[source])
    assert failure is not None and failure.kind == "untranslated"


def test_japanese_left_in_a_chinese_answer_is_caught():
    # First sentence translated, the rest left in Japanese: kana give it away.
    ja = PASSAGES["ja"]
    answer = "一个春天的早晨，遥在车站前等着哥哥健二。" + ja.split("。", 1)[1]
    assert untranslated(ja, answer, "zh-Hans", "ja")


def test_chinese_left_in_a_japanese_answer_is_caught():
    # A "Japanese" answer that is the Chinese source with a particle or two: copied pairs.
    zh = PASSAGES["zh-Hans"]
    answer = zh.replace("，", "、").replace("站台上", "站台の上")
    assert untranslated(zh, answer, "ja", "zh")


def test_japanese_left_in_a_korean_answer_is_caught():
    ja = PASSAGES["ja"]
    answer = "봄날 아침, 하루카는 역 앞에서 오빠 겐지를 기다리고 있었다. " + ja.split("。", 1)[1]
    assert untranslated(ja, answer, "ko", "ja")


def test_english_left_in_a_german_answer_is_caught_by_copied_word_pairs():
    en = PASSAGES["en"]
    answer = "An einem Frühlingsmorgen wartete Haruka. " + en.split(". ", 1)[1]
    assert copied_share(en, answer) > 0.5
    assert untranslated(en, answer, "de", "en")


def test_names_and_numbers_shared_with_the_source_are_not_a_copy():
    assert copied_share(PASSAGES["en"], PASSAGES["de"]) < 0.2
    assert copied_share(PASSAGES["ja"], PASSAGES["zh-Hans"]) < 0.2
    assert copied_share(PASSAGES["pt-BR"], PASSAGES["es"]) < 0.3


def test_a_script_variant_of_the_same_language_is_not_untranslated():
    assert not untranslated(PASSAGES["zh-Hans"], PASSAGES["zh-Hant"], "zh-Hant", "zh-Hans")


def test_glossary_renderings_kept_in_the_source_spelling_are_not_leftovers():
    source = "Gregor Samsa und Grete Samsa sahen zum Fenster hinaus, während der Regen fiel."
    answer = "Gregor Samsa와 Grete Samsa는 비가 내리는 동안 창밖을 내다보았다."
    assert untranslated(source, answer, "ko", "de")
    assert not untranslated(source, answer, "ko", "de", ("Gregor Samsa", "Grete Samsa"))


def test_dropped_numbers_are_found_whatever_their_separators_or_width():
    source = "In 1931 he had 2,400 dollars, and at 4.30 the train left with 11 cars and 3 men."
    kept = "Im Jahr 1931 hatte er 2.400 Dollar, und um 4.30 fuhr der Zug mit 11 Wagen und drei."
    assert missing_numbers(source, kept) == set()  # "3" in words is fine: one digit
    assert missing_numbers(source, kept.replace("1931", "neunzehnhunderteinunddreißig")) == {"1931"}
    full_width = "１９３１年、彼は2400ドルを持っていた。4.30に列車は11両で出発した。"
    assert missing_numbers(source, full_width) == set()
