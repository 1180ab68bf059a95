"""Sentence splitting and block splitting: lossless, abbreviation-aware, CJK-aware."""

# Typographic quotes and CJK punctuation are the subject of these tests, not typos.
# ruff: noqa: RUF001

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from work_count import ScannedText, growth

from folio_worker.engine import segmentation
from folio_worker.engine.segmentation import split_block, split_sentences


def test_abbreviations_and_initials_stay_together() -> None:
    text = "Mr. Samsa met Dr. Kafka on St. Mark's Square. J. Smith, e.g. the clerk, i.e. him, came."
    assert split_sentences(text) == [
        "Mr. Samsa met Dr. Kafka on St. Mark's Square. ",
        "J. Smith, e.g. the clerk, i.e. him, came.",
    ]


def test_split_after_closing_quotes() -> None:
    text = (
        "“What’s happened to me?” he thought. It wasn’t a dream. “Oh, God,” he said. ‘Yes.’ Then."
    )
    assert split_sentences(text) == [
        "“What’s happened to me?” ",
        "he thought. ",
        "It wasn’t a dream. ",
        "“Oh, God,” he said. ",
        "‘Yes.’ ",
        "Then.",
    ]


def test_ellipsis_exclamation_and_brackets() -> None:
    text = 'Wait… what?! (He left.) "Fine." Done'
    assert split_sentences(text) == ["Wait… ", "what?! ", "(He left.) ", '"Fine." ', "Done"]


def test_cjk_terminators_split_immediately() -> None:
    assert split_sentences("吾輩は猫である。名前はまだ無い！「本当？」と聞いた．次") == [
        "吾輩は猫である。",
        "名前はまだ無い！",
        "「本当？」",
        "と聞いた．",
        "次",
    ]


def test_decimals_and_no_space_do_not_split() -> None:
    assert split_sentences("Pi is 3.14 roughly.Really") == ["Pi is 3.14 roughly.Really"]


def test_split_block_prefers_sentences_then_words_then_hard_cuts() -> None:
    text = "One two three. Four five six seven. Eight."
    parts = split_block(text, 22)
    assert parts == ["One two three. ", "Four five six seven. ", "Eight."]
    assert split_block("alpha beta gamma delta", 12) == ["alpha beta ", "gamma delta"]
    assert split_block("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_block("short", 10) == ["short"]


def test_split_block_is_greedy() -> None:
    text = "A a. B b. C c. D d. E e."
    assert split_block(text, 12) == ["A a. B b. ", "C c. D d. ", "E e."]


def test_hard_cut_keeps_combining_marks_with_their_base() -> None:
    text = "e\u0301" * 10
    parts = split_block(text, 5)
    assert "".join(parts) == text
    assert all(len(p) <= 5 for p in parts)
    assert all(not p.startswith("\u0301") for p in parts)


def terminator_runs(size: int) -> str:
    return "." * size + " end" + "!" * (size // 2) + "。" * (size // 2) + " e.g. J. Mr. x. " * 50


def test_terminator_runs_are_scanned_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    text = terminator_runs(5_000)
    patterns = {}
    for name in ("_SENTENCE_END", "_WORD_BEFORE", "_UP_TO_LAST_SPACE"):
        patterns[name] = ScannedText(getattr(segmentation, name))
        monkeypatch.setattr(segmentation, name, patterns[name])
    assert "".join(split_sentences(text)) == text
    assert "".join(split_block(text, 100)) == text
    # Each pattern reads the text once per call of the splitters or a bounded window per match.
    scanned = {name: pattern.characters for name, pattern in patterns.items()}
    assert sum(scanned.values()) <= 8 * len(text), scanned

    def split_both(size: int) -> None:
        sample = terminator_runs(size)
        split_sentences(sample)
        split_block(sample, 100)

    assert growth(split_both, 20_000) < 2.3


# The regex engine's own backtracking is invisible to any count taken from Python: the patterns
# are possessive and start only at a run's first terminator. This bound stops a regression that
# breaks that (minutes on these runs) long before the suite's overall timeout would.
@pytest.mark.timeout(60)
def test_long_runs_of_terminators_split_losslessly() -> None:
    text = terminator_runs(200_000)
    assert "".join(split_sentences(text)) == text
    assert "".join(split_block(text, 1000)) == text


def test_split_block_rejects_zero_limit() -> None:
    with pytest.raises(ValueError):
        split_block("abc", 0)


sentence_text = st.lists(
    st.sampled_from(
        [*"abc XYZ.!?…\"'”’」』）)。！？．\n\t", "Mr.", "e.g.", "J.", "  ", "吾輩", "가나"]
    ),
    max_size=150,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=sentence_text)
def test_split_sentences_is_lossless(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join(sentences) == text
    assert all(sentences)


@settings(max_examples=300, deadline=None)
@given(text=sentence_text, limit=st.integers(min_value=1, max_value=60))
def test_split_block_is_lossless_and_bounded(text: str, limit: int) -> None:
    parts = split_block(text, limit)
    assert "".join(parts) == text
    assert all(len(part) <= limit for part in parts)
    assert all(parts) or text == ""
