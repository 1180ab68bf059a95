"""Find the translatable text blocks of an (X)HTML document, and rewrite them.

Parsing and assembly must agree on *which* elements are blocks and in *which order*: a block's
anchor is just "<path>#<ordinal>", so the assembler finds the element again by running this very
same function on the very same bytes. Keep every rule that decides blockness in this module.

A text block is a paragraph-like element (``p``, ``h1`` to ``h6``, ``li``, ``td``, ...) or a
sectioning container (``div``, ``section``, ...) whose *own* text is not empty. Own text is the
flattened text of the element and its inline descendants (``<br>`` becomes "\\n"), leaving out
nested elements that contain blocks of their own, so no text is counted twice.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lxml import etree

from folio_worker.engine.documents.model import BlockKind
from folio_worker.engine.documents.safexml import parse_xml
from folio_worker.engine.documents.textutil import clean_block_text

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
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


@dataclass(frozen=True)
class TextBlock:
    """One block found in a document: the element, its kind and its cleaned own text."""

    element: etree._Element
    kind: BlockKind
    text: str
    nested: tuple[etree._Element, ...]  # direct children that hold blocks of their own


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
        text = own_text(element, holders, preserve_space=name == "pre")
        if text:
            kind: BlockKind = "heading" if name in HEADING_TAGS else "paragraph"
            nested = tuple(child for child in element if child in holders)
            found[slot] = TextBlock(element, kind, text, nested)
            return True
    return contains


def own_text(
    element: etree._Element, holders: set[etree._Element], *, preserve_space: bool = False
) -> str:
    """Flattened, cleaned text of ``element`` excluding children listed in ``holders``."""
    parts: list[str] = []
    _collect(element, holders, parts)
    raw = "".join(parts)
    if not preserve_space:
        raw = _SPACE_AROUND_BR.sub(_BR, _HTML_SPACE.sub(" ", raw))
    return clean_block_text(raw.replace(_BR, "\n"))


def _collect(node: etree._Element, holders: set[etree._Element], parts: list[str]) -> None:
    if node.text and local_name(node) is not None:
        parts.append(node.text)
    for child in node:
        name = local_name(child)
        if child in holders or name is None or name in SKIP_TAGS:
            pass
        elif name == "br":
            parts.append(_BR)
        else:
            _collect(child, holders, parts)
        if child.tail:
            parts.append(child.tail)


def replace_block_text(
    block: TextBlock, text: str, *, prefix: Sequence[etree._Element] = ()
) -> None:
    """Make ``text`` the block's content, keeping the element, its attributes and its layout.

    Inline children that carry text (``em``, ``a``, ``br``…) are dropped because their words are
    now in the translation; text-less ones (images, empty anchors that links point to) stay, as
    do nested children holding blocks of their own. ``prefix`` elements are put first.
    """
    element = block.element
    keep = [
        child
        for child in element
        if child not in block.nested and local_name(child) not in (None, "br") and _textless(child)
    ]
    for child in list(element):
        element.remove(child)
    element.text = None
    for child in [*prefix, *keep]:
        child.tail = None
        element.append(child)
    lines = [text] if local_name(element) == "pre" else text.split("\n")
    _append_text(element, lines[0])
    for line in lines[1:]:
        br = etree.SubElement(element, _sibling_tag(element, "br"))
        br.tail = line
    for child in block.nested:
        child.tail = None
        element.append(child)


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
