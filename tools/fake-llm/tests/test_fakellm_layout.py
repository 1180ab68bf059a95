"""Paragraph ids and placeholders survive the pseudo-translation; layout faults break them
the way models do, and a repeated prompt draws again."""

from __future__ import annotations

import re

from folio_fakellm.layout import LayoutFaults, applicable, disturb, translate_keeping_tags
from folio_fakellm.pseudo import pseudo_translate

SOURCE = (
    '<p id="1">She was <i1>very</i1> tired.</p>\n\n'
    '<p id="2">He read <b1>the</b1> letter<x2/> and <a3>the note</a3>.</p>\n\n'
    '<p id="3">Nothing more.</p>'
)
TAGS = re.compile(r"<[^<>]+>")


def ids(text: str) -> list[str]:
    return re.findall(r'<p id="(\d+)">', text)


def test_tags_are_copied_and_the_text_between_them_translated() -> None:
    out = translate_keeping_tags(SOURCE, lambda s: pseudo_translate(s, "ko"))
    assert TAGS.findall(out) == TAGS.findall(SOURCE)
    assert "tired" not in out and "letter" not in out


def test_each_fault_breaks_what_it_names() -> None:
    assert ids(disturb(SOURCE, "merge-paragraphs")) == ["1", "3"]
    assert ids(disturb(SOURCE, "split-paragraph")) == ["1", "2", "3", "4"]
    assert ids(disturb(SOURCE, "renumber-paragraphs")) == ["0", "1", "2"]
    dropped = disturb(SOURCE, "drop-placeholder")
    assert "<i1>" not in dropped and "very" in dropped
    moved = disturb(SOURCE, "reorder-placeholders")
    assert TAGS.findall(moved) != TAGS.findall(SOURCE)
    assert sorted(TAGS.findall(moved)) == sorted(TAGS.findall(SOURCE))
    assert disturb("Plain text.", "merge-paragraphs") == "Plain text."
    assert applicable("Plain text.") == []


def test_ambient_faults_draw_anew_for_each_repetition() -> None:
    faults = LayoutFaults(rate=0.5, seed=1)
    draws = [faults.draw("the same prompt", SOURCE) for _ in range(40)]
    assert any(d is None for d in draws) and any(d is not None for d in draws)
    assert LayoutFaults(rate=0.0, seed=1).draw("p", SOURCE) is None
