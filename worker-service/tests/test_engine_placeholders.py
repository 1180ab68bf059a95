"""Inline markup as placeholder tags: every element comes back, in order, around the translated
words (property tests on generated paragraphs), and answers with broken tags are repaired into
something safe that keeps what it can."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from folio_worker.engine.documents.placeholders import (
    Token,
    matches,
    repair,
    strip,
    tokens,
)
from folio_worker.engine.documents.xhtml import iter_text_blocks, load_xhtml, replace_block_text

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"

words = st.text(alphabet="abcdefghij ", min_size=1, max_size=12).filter(lambda w: w.strip())


@st.composite
def inline(draw: st.DrawFn, depth: int = 0) -> str:
    """An inline XHTML fragment: text, emphasis, bold, links, note references, ruby, images,
    line breaks between words (they travel as "\\n", not as a tag; one at a block's edge or
    a second in a row is not kept: block text has no blank lines and is stripped)."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["text", "em", "strong", "a", "noteref", "ruby", "img", "br"]))
        if kind == "text" or depth >= 2:
            parts.append(draw(words))
        elif kind == "br":
            parts.append(f"{draw(words)}<br/>{draw(words)}")
        elif kind == "img":
            parts.append('<img src="i.png" alt=""/>')
        elif kind == "ruby":
            parts.append(f"<ruby>{draw(words)}<rt>{draw(words)}</rt></ruby>")
        elif kind == "noteref":
            n = draw(st.integers(1, 99))
            parts.append(f'<a epub:type="noteref" href="#n{n}">{n}</a>')
        else:
            attrs = ' href="https://example.org/x"' if kind == "a" else ' class="k"'
            parts.append(f"<{kind}{attrs}>{draw(inline(depth + 1))}</{kind}>")
        parts.append(" ")
    return "".join(parts).strip()


def page(body: str) -> bytes:
    return (
        f'<html xmlns="{XHTML}" xmlns:epub="{OPS}"><head><title>t</title></head>'
        f"<body>{body}</body></html>"
    ).encode()


def elements(paragraph: etree._Element) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """The inline elements of a paragraph in document order, with their attributes."""
    return [
        (etree.QName(e).localname, tuple(sorted(e.attrib.items())))
        for e in paragraph.iter()
        if e is not paragraph and isinstance(e.tag, str)
    ]


def translate(marked: str) -> str:
    """A stand-in translation: the words between tags change, the tags stay."""
    return re.sub(r"(?<=>)([^<]+)|^([^<]+)", lambda m: m.group(0).upper(), marked)


@settings(max_examples=150, deadline=None)
@given(inline())
def test_round_trip_keeps_every_element_in_order(fragment: str) -> None:
    tree = load_xhtml(page(f"<p>Start {fragment}</p>"), "t.xhtml")
    [block] = list(iter_text_blocks(tree))
    before = elements(block.element)
    text = block.text
    # every inline element has its tag, numbered in document order
    opened = [t.number for t in tokens(text) if t.kind in ("open", "void")]
    assert opened == list(range(1, len(opened) + 1))
    assert matches(text, translate(text))

    replace_block_text(block, translate(text))
    again = load_xhtml(etree.tostring(tree), "t.xhtml")
    [rebuilt] = list(iter_text_blocks(again))
    assert elements(rebuilt.element) == before  # same elements, same attributes, same order
    assert rebuilt.text == translate(text)  # the translated words are where the tags say


@settings(max_examples=200, deadline=None)
@given(inline(), st.randoms(use_true_random=False))
def test_repair_keeps_the_source_order_and_never_invents(fragment: str, rnd) -> None:
    tree = load_xhtml(page(f"<p>Start {fragment}</p>"), "t.xhtml")
    [block] = list(iter_text_blocks(tree))
    source = block.text
    found = re.findall(r"<[^<>]+>|[^<]+", translate(source))
    rnd.shuffle(found) if rnd.random() < 0.5 else None  # tags moved
    if found and rnd.random() < 0.5:
        found.pop(rnd.randrange(len(found)))  # something dropped
    found.insert(rnd.randrange(len(found) + 1), "<i77>invented</i77>")
    fixed = repair(source, "".join(found))
    got, wanted = tokens(fixed), tokens(source)
    assert Token("open", "i", 77) not in got
    assert _is_subsequence(got, wanted)
    assert _balanced(got)
    # elements without words (images, note numbers) are never lost
    for token in wanted:
        if token.kind == "void":
            assert token in got


def test_repair_of_a_dropped_note_reference_puts_it_back_at_the_end() -> None:
    source = "She <i1>ran</i1> home.<n2>3</n2>"
    assert repair(source, "Elle <i1>courut</i1> chez elle.") == (
        "Elle <i1>courut</i1> chez elle.<n2>3</n2>"
    )
    # a reordered pair is dropped, its words kept
    assert repair("<b1>a</b1> <i2>b</i2>", "<i2>B</i2> <b1>A</b1>") in (
        "B <b1>A</b1>",
        "<i2>B</i2> A",
    )
    assert strip("<b1>a</b1> <x2/>b") == "a b"


def test_book_text_that_looks_like_a_tag_is_not_taken_for_one() -> None:
    tree = load_xhtml(page("<p>Type &lt;i1&gt; to <em>start</em>.</p>"), "t.xhtml")
    [block] = list(iter_text_blocks(tree))
    assert [t.number for t in tokens(block.text)] == [1, 1]
    assert block.text.startswith("Type \u2039i1\u203a to <i1>start</i1>")


def _is_subsequence(got: list[Token], wanted: list[Token]) -> bool:
    it = iter(wanted)
    return all(any(token == w for w in it) for token in got)


def _balanced(got: list[Token]) -> bool:
    stack: list[Token] = []
    for token in got:
        if token.kind == "open":
            stack.append(token)
        elif token.kind == "close":
            if not stack or (stack[-1].letter, stack[-1].number) != (token.letter, token.number):
                return False
            stack.pop()
    return not stack
