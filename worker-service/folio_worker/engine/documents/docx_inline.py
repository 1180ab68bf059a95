"""A Word paragraph's runs as text with placeholder tags, and back.

Word has no inline elements, only runs with their own character formatting (``w:rPr``) and
hyperlinks around runs. The formatting most of the paragraph's text has is its base; a run
formatted otherwise becomes a placeholder pair (``<i1>`` italic, ``<b1>`` bold, ``<s1>``
anything else), a hyperlink ``<aN>``, a run without text (a footnote reference, a picture)
``<xN/>``. A line break is "\n"; a page or column break is an ``<xN/>`` of its own (a run is
cut there), so it comes back as that break and not as a line break. Writing a translation
back makes runs with those formats again.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

from docx.oxml.ns import qn
from lxml import etree

from folio_worker.engine.documents.placeholders import TAG

_R, _T, _HYPERLINK = qn("w:r"), qn("w:t"), qn("w:hyperlink")
_RPR, _BR, _CR, _TAB = qn("w:rPr"), qn("w:br"), qn("w:cr"), qn("w:tab")
_PPR = qn("w:pPr")
# Containers whose runs read as the paragraph's own (tracked insertions, smart tags, fields).
_TRANSPARENT = frozenset({qn("w:ins"), qn("w:smartTag"), qn("w:fldSimple"), qn("w:customXml")})
_SDT_CONTENT = qn("w:sdtContent")
_SDT = qn("w:sdt")
_BOLD, _ITALIC = qn("w:b"), qn("w:i")
# Run properties that change how text looks, as opposed to language or spelling marks.
_VISUAL = frozenset(
    qn(f"w:{name}")
    for name in (
        "b", "i", "u", "strike", "dstrike", "vertAlign", "caps", "smallCaps", "highlight",
        "color", "rStyle", "shd", "vanish", "em",
    )
)  # fmt: skip


@dataclass
class Spans:
    """The elements behind a paragraph's tags: ``items[n - 1]`` for tag n."""

    items: list[etree._Element] = field(default_factory=list)  # an rPr, a hyperlink, a run
    base: etree._Element | None = None  # the rPr of unformatted text


def marked_text(paragraph: etree._Element) -> tuple[str, Spans]:
    runs = [(piece, link) for run, link in _runs(paragraph, None) for piece in _pieces(run)]
    spans = Spans()
    weights: Counter[str] = Counter()
    keys: dict[str, etree._Element | None] = {}
    for run, _ in runs:
        key = _key(run)
        keys.setdefault(key, run.find(_RPR))
        weights[key] += len(_run_text(run))
    base_key = weights.most_common(1)[0][0] if weights else ""
    spans.base = keys.get(base_key)
    parts: list[str] = []
    open_link: etree._Element | None = None
    open_span: tuple[str, int] | None = None  # (key, number) of the open formatting pair

    def close_span() -> None:
        nonlocal open_span
        if open_span is not None:
            parts.append(f"</{_letter(spans.items[open_span[1] - 1])}{open_span[1]}>")
            open_span = None

    for run, link in runs:
        if link is not open_link:
            close_span()
            if open_link is not None:
                parts.append(f"</a{spans.items.index(open_link) + 1}>")
            open_link = link
            if link is not None:
                spans.items.append(link)
                parts.append(f"<a{len(spans.items)}>")
        text = _run_text(run)
        if not text:
            if _has_content(run):
                close_span()
                spans.items.append(run)
                parts.append(f"<x{len(spans.items)}/>")
            continue
        key = _key(run)
        if key != base_key and (open_span is None or open_span[0] != key):
            close_span()
            spans.items.append(_rpr_of(run))
            open_span = (key, len(spans.items))
            parts.append(f"<{_letter(spans.items[-1])}{open_span[1]}>")
        elif key == base_key:
            close_span()
        parts.append(TAG.sub(lambda m: m.group(0).replace("<", "\u2039"), text))
    close_span()
    if open_link is not None:
        parts.append(f"</a{spans.items.index(open_link) + 1}>")
    return "".join(parts), spans


def write_paragraph(paragraph: etree._Element, text: str, spans: Spans) -> None:
    """Replace the paragraph's runs with ``text``, its tags made runs and links again.

    Paragraph properties and bookmarks stay; text-less runs the translation lost (footnote
    references, pictures) go first, so nothing they carry disappears."""
    placed = {int(m.group(3)) for m in TAG.finditer(text) if not m.group(1)}
    lost = [
        copy.deepcopy(item)
        for n, item in enumerate(spans.items, start=1)
        if item.tag == _R and n not in placed
    ]
    for child in list(paragraph):
        if child.tag in (_R, _HYPERLINK, _SDT) or child.tag in _TRANSPARENT:
            paragraph.remove(child)
    containers: list[tuple[etree._Element, int]] = [(paragraph, 0)]
    formats: list[tuple[etree._Element | None, int]] = [(spans.base, 0)]
    for run in lost:
        paragraph.append(run)
    position = 0
    for match in TAG.finditer(text):
        _write_text(containers[-1][0], text[position : match.start()], formats[-1][0])
        position = match.end()
        closing, _, number_text, void = match.groups()
        number = int(number_text)
        if not 0 < number <= len(spans.items) or (closing and void):
            continue
        item = spans.items[number - 1]
        if void:
            if item.tag == _R:
                containers[-1][0].append(copy.deepcopy(item))
        elif item.tag == _HYPERLINK:
            if closing:
                _pop(containers, number)
            else:
                link = etree.SubElement(containers[-1][0], item.tag, dict(item.attrib))
                containers.append((link, number))
        elif closing:
            _pop(formats, number)
        else:
            formats.append((item, number))
    _write_text(containers[-1][0], text[position:], formats[-1][0])


def _pop(stack: list, number: int) -> None:
    if any(n == number for _, n in stack[1:]):
        while stack[-1][1] != number:
            stack.pop()
        stack.pop()


def _write_text(container: etree._Element, text: str, rpr: etree._Element | None) -> None:
    if not text:
        return
    run = etree.SubElement(container, _R)
    if rpr is not None:
        run.append(copy.deepcopy(rpr))
    for i, line in enumerate(text.split("\n")):
        if i:
            etree.SubElement(run, _BR)
        if line:
            t = etree.SubElement(run, _T)
            t.text = line
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")


def _runs(node: etree._Element, link: etree._Element | None):
    """(run, enclosing hyperlink) in reading order."""
    for child in node:
        if child.tag == _R:
            yield child, link
        elif child.tag == _HYPERLINK:
            yield from _runs(child, child)
        elif child.tag in _TRANSPARENT or child.tag in (_SDT, _SDT_CONTENT):
            yield from _runs(child, link)


def _hard_break(child: etree._Element) -> bool:
    return child.tag == _BR and child.get(qn("w:type")) in ("page", "column")


def _pieces(run: etree._Element) -> list[etree._Element]:
    """The run, or, when it holds a page or column break, the run cut around each one: a run
    of the break alone (with the run's formatting) between runs of the rest."""
    if not any(_hard_break(child) for child in run):
        return [run]
    rpr = run.find(_RPR)
    pieces: list[etree._Element] = []
    current: etree._Element | None = None

    def piece() -> etree._Element:
        new = etree.Element(_R, dict(run.attrib))
        if rpr is not None:
            new.append(copy.deepcopy(rpr))
        pieces.append(new)
        return new

    for child in run:
        if child.tag == _RPR:
            continue
        if _hard_break(child):
            piece().append(copy.deepcopy(child))
            current = None
            continue
        if current is None:
            current = piece()
        current.append(copy.deepcopy(child))
    return pieces


def _run_text(run: etree._Element) -> str:
    parts = []
    for child in run:
        if child.tag == _T:
            parts.append(child.text or "")
        elif child.tag == _TAB:
            parts.append("\t")
        elif child.tag in (_BR, _CR) and not _hard_break(child):
            parts.append("\n")
    return "".join(parts)


def _has_content(run: etree._Element) -> bool:
    """A run that shows something without text: a note reference, a picture, a field."""
    return any(child.tag not in (_RPR, _T) for child in run)


def _rpr_of(run: etree._Element) -> etree._Element:
    rpr = run.find(_RPR)
    return rpr if rpr is not None else etree.Element(_RPR)


def _key(run: etree._Element) -> str:
    rpr = run.find(_RPR)
    if rpr is None:
        return ""
    visual = [etree.tostring(child) for child in rpr if child.tag in _VISUAL]
    return b"".join(sorted(visual)).decode()


def _letter(rpr: etree._Element) -> str:
    if rpr.tag == _HYPERLINK:
        return "a"
    names = {child.tag for child in rpr if child.tag in _VISUAL and _on(child)}
    if names == {_ITALIC}:
        return "i"
    if names == {_BOLD}:
        return "b"
    return "s"


def _on(element: etree._Element) -> bool:
    return (element.get(qn("w:val")) or "true").lower() not in ("0", "false", "none")
