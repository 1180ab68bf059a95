"""Language tags keep their variants, prompts name them, detection covers the major
languages, register hints exist for every target that marks address, estimates follow the
source's script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from folio.contracts import NarrativeStyle, PlannedUnit, UnitPiece
from folio_worker.engine import estimate
from folio_worker.engine.languages import (
    detect_language,
    language_name,
    normalise_tag,
    parse_language,
    script_of,
    word_joiner,
)
from folio_worker.engine.prompts import formality_hint
from folio_worker.engine.translator import build_prompt, unit_requests
from folio_worker.engine.work import SegmentWork

PASSAGES = json.loads(Path(__file__).with_name("passages.json").read_text("utf-8"))


@pytest.mark.parametrize(
    ("given", "tag", "name", "script"),
    [
        ("zh-TW", "zh-TW", "Chinese (Traditional, Taiwan)", "han"),
        ("zh-Hant", "zh-Hant", "Chinese (Traditional)", "han"),
        ("zh-hans", "zh-Hans", "Chinese (Simplified)", "han"),
        ("zh", "zh", "Chinese (Simplified)", "han"),
        ("pt-BR", "pt-BR", "Portuguese (Brazil)", "latin"),
        ("sr-Latn", "sr-Latn", "Serbian (Latin)", "latin"),
        ("sr", "sr", "Serbian", "cyrillic"),
        ("Korean", "ko", "Korean", "hangul"),
        ("ja_JP", "ja-JP", "Japanese (Japan)", "japanese"),
        ("Brazilian Portuguese", "pt-BR", "Portuguese (Brazil)", "latin"),
        ("ru", "ru", "Russian", "cyrillic"),
    ],
)
def test_tags_keep_script_and_region(given, tag, name, script):
    parsed = parse_language(given)
    assert normalise_tag(given) == tag
    assert language_name(given) == name
    assert script_of(given) == script
    assert parsed.code == tag.split("-")[0]


def test_unknown_languages_keep_their_text():
    assert language_name("Elvish") == "Elvish"


def test_words_are_joined_by_the_target_script():
    assert word_joiner("ja") == "" and word_joiner("zh-Hant") == ""
    assert word_joiner("ko") == " " and word_joiner("sr-Latn") == " "


@pytest.mark.parametrize(
    ("passage", "expected"),
    [
        ("pl", "pl"),
        ("tr", "tr"),
        ("vi", "vi"),
        ("de", "de"),
        ("fr", "fr"),
        ("es", "es"),
        ("pt-BR", "pt"),
        ("ru", "ru"),
        ("en", "en"),
        ("ja", "ja"),
        ("ko", "ko"),
        ("zh-Hans", "zh-Hans"),
        ("zh-Hant", "zh-Hant"),
    ],
)
def test_source_language_detection(passage, expected):
    assert detect_language(PASSAGES[passage]) == expected


def test_text_without_letters_has_no_language():
    assert detect_language("1234 — 5678 !!") is None


def _prompt(target: str, source: str | None = "en") -> str:
    work = SegmentWork(
        target_language=target,
        source_language=source,
        style=NarrativeStyle(),
        units=[PlannedUnit(index=0, text="Hello.", pieces=[UnitPiece(block=0, part=0, parts=1)])],
    )
    (request,) = unit_requests(work)
    return build_prompt(work, request, request.unit.text)


def test_prompts_name_script_variants():
    prompt = _prompt("zh-TW")
    assert "into Chinese (Traditional, Taiwan)" in prompt
    assert "Traditional Chinese characters" in prompt
    assert "<target_language>Chinese (Traditional, Taiwan)</target_language>" in prompt
    assert "Simplified Chinese characters" in _prompt("zh")
    assert "Latin script" in _prompt("sr-Latn") and "Serbian (Latin)" in _prompt("sr-Latn")
    assert "Portuguese (Brazil)" in _prompt("pt-BR")
    assert "from Japanese into Korean" in _prompt("ko", "ja")
    assert "script only" not in _prompt("de")


@pytest.mark.parametrize(
    ("target", "formal", "casual"),
    [
        ("ko", "하십시오체", "반말"),
        ("ja", "敬語", "タメ口"),
        ("zh-Hant", "您", "你"),
        ("de", "Sie", "du"),
        ("fr", "vous", "tu"),
        ("es", "usted", "tú"),
        ("it", "Lei", "tu"),
        ("pt-BR", "senhor", "você"),
        ("nl", "u", "jij"),
        ("ru", "вы", "ты"),
        ("pl", "Pan", "ty"),
        ("tr", "siz", "sen"),
    ],
)
def test_every_target_that_marks_address_gets_register_hints(target, formal, casual):
    assert formal in formality_hint(target, "formal")
    assert casual in formality_hint(target, "casual")


def test_a_target_without_grammatical_address_gets_the_level_itself():
    assert formality_hint("en", "formal") == "formal"


def test_output_estimates_follow_the_source_script():
    zh_to_en = estimate.output_tokens(PASSAGES["zh-Hans"], "en")
    en_to_zh = estimate.output_tokens(PASSAGES["en"], "zh")
    # 70 Chinese characters become ~240 English ones (~60 tokens; as if it
    # were English, ~20); 285 English characters
    # become ~95 Chinese ones (~70 tokens at 3 bytes each).
    assert 45 <= zh_to_en <= 80
    assert 50 <= en_to_zh <= 90
    ja_to_ko = estimate.output_tokens(PASSAGES["ja"], "ko")
    assert 55 <= ja_to_ko <= 90
