"""Pseudo-translation: determinism, word consistency, layout, scripts and length ratios."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from folio_fakellm.pseudo import language_kind, pseudo_translate

HANGUL_WORD = re.compile(r"^[\uac00-\ud7a3]+$")
LATIN = re.compile(r"[A-Za-z]")
PUNCT = set(".,;:!?\"'\u201c\u201d\u2018\u2019\u2014()\u2026")


def _layout(text: str) -> list[str]:
    """Punctuation, digits and line breaks in order: what must survive translation."""
    return [c for c in text if c in PUNCT or c.isdigit() or c == "\n"]


def test_deterministic_within_and_across_processes(sample: str) -> None:
    out = pseudo_translate(sample, "Korean")
    assert out == pseudo_translate(sample, "Korean")
    code = (
        "import sys; from folio_fakellm.pseudo import pseudo_translate as p; "
        "sys.stdout.buffer.write(p(sys.stdin.read(), 'Korean').encode())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        input=sample.encode(),
        capture_output=True,
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    )
    assert other.stdout.decode() == out


@pytest.mark.parametrize("lang", ["Korean", "ja", "zh", "French"])
def test_same_word_renders_identically_in_different_texts(lang: str) -> None:
    a = pseudo_translate("Gregor", lang)
    b = pseudo_translate("Yesterday Gregor, tired, slept. Gregor!", lang)
    assert a and a in b
    assert b.count(a) == 2
    # and differs from another name
    assert pseudo_translate("Grete", lang) != a


@pytest.mark.parametrize("lang", ["ko", "Japanese", "Chinese", "fr", "German"])
def test_layout_preserved(book: str, lang: str) -> None:
    out = pseudo_translate(book, lang)
    assert _layout(out) == _layout(book)
    assert out.count("\n\n") == book.count("\n\n")
    assert out.count("\n") == book.count("\n")
    assert out != book


def test_korean_words_are_hangul_only_and_spaced(book: str) -> None:
    out = pseudo_translate(book, "Korean")
    words = re.findall(r"[^\W\d_]+", out)
    assert len(words) == len(re.findall(r"[^\W\d_]+", book))
    assert all(HANGUL_WORD.match(w) for w in words)
    assert " " in out


@pytest.mark.parametrize(
    ("lang", "script"),
    [
        ("ja", re.compile(r"^[\u3041-\u3096\u30a1-\u30fa]+$")),
        ("zh", re.compile(r"^[\u4e00-\u9fff]+$")),
        ("ko", HANGUL_WORD),
    ],
)
def test_cjk_has_no_latin_letters(book: str, lang: str, script: re.Pattern[str]) -> None:
    out = pseudo_translate(book + " ABC xyz 1912", lang)
    assert not LATIN.search(out)
    assert "1912" in out
    assert all(script.match(w) for w in re.findall(r"[^\W\d_]+", out))


@pytest.mark.parametrize(("lang", "ratio"), [("ko", 0.5), ("ja", 0.45), ("zh", 0.35), ("fr", 1.1)])
def test_default_length_ratio_within_ten_percent(book: str, lang: str, ratio: float) -> None:
    measured = len(pseudo_translate(book, lang)) / len(book)
    assert abs(measured - ratio) <= 0.1 * ratio, measured


def test_explicit_ratio_changes_length(book: str) -> None:
    short = pseudo_translate(book, "ko", ratio=0.5)
    longer = pseudo_translate(book, "ko", ratio=0.7)
    assert abs(len(longer) / len(book) - 0.7) <= 0.07
    assert len(longer) > len(short)
    with pytest.raises(ValueError):
        pseudo_translate(book, "ko", ratio=0)


def test_pseudo_latin_has_no_plain_letters_and_keeps_case(sample: str) -> None:
    out = pseudo_translate(sample, "French")
    assert not re.search(r"[aeiouAEIOU]", out)
    assert not LATIN.search(out)
    gregor = pseudo_translate("Gregor", "French")
    assert gregor[0].isupper() and gregor[1:].islower()
    # long words are padded with a repeated accented vowel
    word = pseudo_translate("transformation", "French")
    assert len(word) >= len("transformation")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Korean", "ko"),
        ("ko-KR", "ko"),
        ("KOREAN", "ko"),
        ("ja", "ja"),
        ("Japanese", "ja"),
        ("zh-Hans", "zh"),
        ("Simplified Chinese", "zh"),
        ("fr", "other"),
        ("German", "other"),
    ],
)
def test_language_names_and_codes(name: str, kind: str) -> None:
    assert language_kind(name) == kind


def test_japanese_capitalised_words_katakana_and_no_spaces_between_words() -> None:
    name = pseudo_translate("Gregor", "ja")
    out = pseudo_translate("Gregor slept", "ja")
    assert re.fullmatch(r"[\u30a1-\u30fa]+", name)
    assert out.startswith(name)
    assert re.fullmatch(r"[\u3041-\u3096]+", out[len(name) :])
