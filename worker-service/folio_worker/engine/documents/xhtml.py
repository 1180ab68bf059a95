"""Find the translatable text blocks of an (X)HTML document, and rewrite them.

Parsing and assembly must agree on *which* elements are blocks and in *which order*: a block's
anchor is just "<path>#<ordinal>", so the assembler finds the element again by running this very
same function on the very same bytes. Keep every rule that decides blockness in this module.

A text block is a paragraph-like element (``p``, ``h1`` to ``h6``, ``li``, ``td``, ...) or a
sectioning container (``div``, ``section``, ...) whose *own* text is not empty. Own text is the
flattened text of the element and its inline descendants (``<br>`` becomes "\\n"), leaving out
nested elements that contain blocks of their own, so no text is counted twice. Inline elements
are kept in the text as placeholder tags (``placeholders.py``): ``<i1>…</i1>`` around an
emphasised phrase, ``<x2/>`` for an image or an anchor; the block keeps the elements, and
``replace_block_text`` puts them back around the translated words.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lxml import etree

from folio_worker.engine.documents.model import BlockKind
from folio_worker.engine.documents.placeholders import TAG
from folio_worker.engine.documents.safexml import parse_xml
from folio_worker.engine.documents.textutil import clean_block_text

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"
SOURCE_CLASS = "folio-source"

HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCK_TAGS = HEADING_TAGS | frozenset(
    {"p", "li", "blockquote", "pre", "dt", "dd", "td", "th", "caption", "figcaption"}
)
CONTAINER_TAGS = frozenset(
    {"div", "section", "article", "aside", "header", "footer", "main", "figure", "nav", "body"}
)
# Never text to translate: scripts, styles, ruby readings, drawings and formulas.
SKIP_TAGS = frozenset(
    {"head", "title", "script", "style", "template", "rt", "rp", "svg", "math", "object"}
)
# Blocks whose source copy goes *inside* the element in bilingual output: a sibling copy would
# add a table cell, a list item or a second caption and break the surrounding structure.
INNER_BILINGUAL_TAGS = frozenset({"td", "th", "li", "dt", "dd", "caption", "figcaption"})

_BR = "\x00"  # never valid in XML, so it cannot collide with document text
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_SPACE_AROUND_BR = re.compile(r" ?\x00 ?")
_EMPHASIS = frozenset({"em", "i", "cite", "dfn", "var"})
_STRONG = frozenset({"strong", "b"})


@dataclass(frozen=True)
class TextBlock:
    """One block found in a document: the element, its kind and its cleaned own text, with
    its inline elements as placeholder tags (``inline[n - 1]`` is the element of tag n)."""

    element: etree._Element
    kind: BlockKind
    text: str
    nested: tuple[etree._Element, ...]  # direct children that hold blocks of their own
    inline: tuple[etree._Element, ...] = ()


def load_xhtml(data: bytes, what: str) -> etree._ElementTree:
    """Parse a content document exactly the same way for parsing and for assembly."""
    return parse_xml(data, what, lenient=True)


def local_name(element: etree._Element) -> str | None:
    """Lower-case tag name without namespace; None for comments, PIs and entities."""
    tag = element.tag
    if not isinstance(tag, str):
        return None
    return tag.rsplit("}", 1)[-1].lower()


def iter_text_blocks(tree: etree._ElementTree | etree._Element) -> Iterator[TextBlock]:
    """The text blocks of a document's body in document order (parents before nested blocks)."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    body = next((child for child in root if local_name(child) == "body"), root)
    found: list[TextBlock | None] = []
    _visit(body, found, set())
    return (block for block in found if block is not None)


def _visit(
    element: etree._Element, found: list[TextBlock | None], holders: set[etree._Element]
) -> bool:
    """Record blocks under ``element`` (pre-order); True when it or a descendant is a block."""
    name = local_name(element)
    if name is None or name in SKIP_TAGS:
        return False
    slot = len(found)
    found.append(None)
    contains = False
    for child in element:
        if _visit(child, found, holders):
            holders.add(child)
            contains = True
    if name in BLOCK_TAGS or name in CONTAINER_TAGS:
        inline: list[etree._Element] = []
        text = own_text(element, holders, preserve_space=name == "pre", inline=inline)
        if text and TAG.sub("", text).strip():
            kind: BlockKind = "heading" if name in HEADING_TAGS else "paragraph"
            nested = tuple(child for child in element if child in holders)
            found[slot] = TextBlock(element, kind, text, nested, tuple(inline))
            return True
    return contains


def own_text(
    element: etree._Element,
    holders: set[etree._Element],
    *,
    preserve_space: bool = False,
    inline: list[etree._Element] | None = None,
) -> str:
    """Flattened, cleaned text of ``element`` excluding children listed in ``holders``; with
    ``inline``, inline elements become placeholder tags and are listed there."""
    parts: list[str] = []
    _collect(element, holders, parts, inline)
    raw = "".join(parts)
    if not preserve_space:
        raw = _SPACE_AROUND_BR.sub(_BR, _HTML_SPACE.sub(" ", raw))
    return clean_block_text(raw.replace(_BR, "\n"))


def _collect(
    node: etree._Element,
    holders: set[etree._Element],
    parts: list[str],
    inline: list[etree._Element] | None,
) -> None:
    if node.text and local_name(node) is not None:
        parts.append(_escape_tags(node.text))
    for child in node:
        name = local_name(child)
        if child in holders or name is None or name in SKIP_TAGS:
            pass
        elif name == "br":
            parts.append(_BR)
        elif inline is None:
            _collect(child, holders, parts, inline)
        elif _textless(child):
            inline.append(child)
            parts.append(f"<x{len(inline)}/>")
        else:
            inline.append(child)
            tag = f"{_letter(child)}{len(inline)}"
            parts.append(f"<{tag}>")
            _collect(child, holders, parts, inline)
            parts.append(f"</{tag}>")
        if child.tail:
            parts.append(_escape_tags(child.tail))


def _escape_tags(text: str) -> str:
    """Book text that happens to look like a placeholder tag must not become one."""
    return TAG.sub(lambda m: m.group(0).replace("<", "\u2039").replace(">", "\u203a"), text)


def _letter(element: etree._Element) -> str:
    """The placeholder letter that tells a model what the element is."""
    name = local_name(element)
    if name == "a":
        kinds = (element.get(EPUB_TYPE) or "").split() + (element.get("role") or "").split()
        return "n" if "noteref" in kinds or "doc-noteref" in kinds else "a"
    if name in _EMPHASIS:
        return "i"
    if name in _STRONG:
        return "b"
    return "r" if name == "ruby" else "s"


def replace_block_text(
    block: TextBlock, text: str, *, prefix: Sequence[etree._Element] = ()
) -> None:
    """Make ``text`` the block's content, keeping the element, its attributes and its layout.

    The placeholder tags of ``text`` become the block's inline elements again (their tag and
    attributes, the translated words inside; ruby keeps its readings). Text-less inline
    elements the translation lost (anchors that links point to, images) go first, so nothing
    that points into the book breaks; an element placed twice keeps its id once. Nested
    children holding blocks of their own stay, after the text. ``prefix`` elements come first.
    """
    element = block.element
    placed = {int(m.group(3)) for m in TAG.finditer(text) if not m.group(1)}
    if block.inline:
        keep = [
            child
            for n, child in enumerate(block.inline, start=1)
            if n not in placed and _textless(child) and child.getparent() is element
        ]
    else:  # a block parsed without placeholders: its text-less children stay
        keep = [
            child
            for child in element
            if child not in block.nested
            and local_name(child) not in (None, "br")
            and _textless(child)
        ]
    keep = [copy.deepcopy(child) for child in keep]
    for child in list(element):
        element.remove(child)
    element.text = None
    for child in [*prefix, *keep]:
        child.tail = None
        element.append(child)
    _fill(element, text, block.inline, preserve=local_name(element) == "pre")
    for child in block.nested:
        child.tail = None
        element.append(child)


def _fill(
    element: etree._Element, text: str, inline: Sequence[etree._Element], *, preserve: bool
) -> None:
    """Write ``text`` into ``element``, turning placeholder tags into copies of ``inline``."""
    stack: list[tuple[etree._Element, int]] = [(element, 0)]
    used: set[int] = set()
    position = 0

    def write(chunk: str) -> None:
        if not chunk:
            return
        target = stack[-1][0]
        lines = [chunk] if preserve else chunk.split("\n")
        _append_text(target, lines[0])
        for line in lines[1:]:
            br = etree.SubElement(target, _sibling_tag(element, "br"))
            br.tail = line or None

    for match in TAG.finditer(text):
        write(text[position : match.start()])
        position = match.end()
        closing, _, number_text, void = match.groups()
        number = int(number_text)
        if not 0 < number <= len(inline) or (closing and void):
            continue
        original = inline[number - 1]
        if closing:
            if any(n == number for _, n in stack[1:]):
                while stack[-1][1] != number:
                    stack.pop()
                _close(*stack.pop(), original)
            continue
        duplicate = copy.deepcopy(original) if void else _shallow(original)
        duplicate.tail = None
        if number in used:  # ids stay unique in the document
            for node in duplicate.iter():
                if isinstance(node.tag, str):
                    node.attrib.pop("id", None)
        used.add(number)
        stack[-1][0].append(duplicate)
        if not void:
            stack.append((duplicate, number))
    write(text[position:])
    while len(stack) > 1:
        target, number = stack.pop()
        _close(target, number, inline[number - 1])


def _shallow(element: etree._Element) -> etree._Element:
    duplicate = etree.Element(element.tag, dict(element.attrib), nsmap=element.nsmap)
    return duplicate


def _close(duplicate: etree._Element, _number: int, original: etree._Element) -> None:
    """A ruby's readings (``rt``/``rp``) are not translated: they come back as they were."""
    for child in original:
        if local_name(child) in ("rt", "rp"):
            reading = copy.deepcopy(child)
            reading.tail = None
            duplicate.append(reading)


def source_copy(block: TextBlock, *, lang: str | None) -> etree._Element:
    """A copy of the block's original element for bilingual output.

    Nested block holders are left out (they get their own copies), ids are removed so the
    document keeps unique ids, and the copy is marked with the ``folio-source`` class.
    """
    element = block.element
    duplicate = copy.deepcopy(element)
    nested_positions = {i for i, child in enumerate(element) if child in block.nested}
    for i, child in reversed(list(enumerate(duplicate))):
        if i in nested_positions:
            _remove_keeping_tail(child)
    for node in duplicate.iter():
        if isinstance(node.tag, str):
            node.attrib.pop("id", None)
            node.attrib.pop("{http://www.w3.org/XML/1998/namespace}id", None)
    classes = (duplicate.get("class") or "").split()
    duplicate.set("class", " ".join([*classes, SOURCE_CLASS]))
    if lang:
        duplicate.set("lang", lang)
        duplicate.set(XML_LANG, lang)
    duplicate.tail = None
    return duplicate


def inline_source(block: TextBlock, *, lang: str | None) -> list[etree._Element]:
    """Source text wrapped in ``<span class="folio-source">`` followed by ``<br/>``.

    Used for cells and list items, where a sibling copy would break the table or list.
    """
    duplicate = source_copy(block, lang=lang)
    span = etree.Element(_sibling_tag(block.element, "span"))
    span.set("class", SOURCE_CLASS)
    if lang:
        span.set("lang", lang)
        span.set(XML_LANG, lang)
    span.text = duplicate.text
    for child in list(duplicate):
        span.append(child)
    return [span, etree.Element(_sibling_tag(block.element, "br"))]


def set_document_language(tree: etree._ElementTree, lang: str) -> None:
    """Declare the translated language on the root (and on a body that declared one)."""
    root = tree.getroot()
    root.set("lang", lang)
    root.set(XML_LANG, lang)
    body = next((child for child in root if local_name(child) == "body"), None)
    if body is not None:
        for attribute in ("lang", XML_LANG):
            if attribute in body.attrib:
                body.set(attribute, lang)


def declared_language(tree: etree._ElementTree) -> str | None:
    """The language a document's root declares, if any."""
    root = tree.getroot()
    return root.get(XML_LANG) or root.get("lang")


def _textless(element: etree._Element) -> bool:
    """True when the element shows no text: its own text and its descendants' text and tails."""
    for node in element.iter():
        if local_name(node) is not None and node.text and node.text.strip():
            return False
        if node is not element and node.tail and node.tail.strip():
            return False
    return True


def _append_text(element: etree._Element, text: str) -> None:
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + text
    else:
        element.text = (element.text or "") + text


def _remove_keeping_tail(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _sibling_tag(element: etree._Element, name: str) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[: tag.index("}") + 1] + name
    return name
