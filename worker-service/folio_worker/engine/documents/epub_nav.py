"""Navigation of a translated EPUB: table-of-contents labels in the target language.

Labels are not sent to the model on their own: a label names a heading of the book, and the
heading was translated with its chapter. A label takes the translation of the heading its link
points to (``chapter.xhtml#id``), else of a heading whose source text is the label's, else of
the first heading of the document it links to. A label that matches none stays as it was.
Both the EPUB 3 navigation document and the EPUB 2 NCX are rewritten.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from lxml import etree

from folio_worker.engine.documents.epub_package import NCX_TYPE, OPS_NS, EpubPackage
from folio_worker.engine.documents.model import DocumentError
from folio_worker.engine.documents.safexml import parse_xml
from folio_worker.engine.documents.safezip import SafeZip, resolve_href
from folio_worker.engine.documents.xhtml import load_xhtml, local_name, set_document_language


@dataclass
class Headings:
    """Translated headings of the book, found while its documents were rewritten."""

    by_id: dict[str, str] = field(default_factory=dict)  # "path#id" -> translation
    by_text: dict[str, str] = field(default_factory=dict)  # source text -> translation
    first: dict[str, str] = field(default_factory=dict)  # path -> its first heading's

    def add(self, path: str, element_id: str | None, source: str, translation: str) -> None:
        if element_id:
            self.by_id.setdefault(f"{path}#{element_id}", translation)
        self.by_text.setdefault(_key(source), translation)
        self.first.setdefault(path, translation)

    def label(self, target: str | None, fragment: str, text: str) -> str | None:
        if target and fragment and f"{target}#{fragment}" in self.by_id:
            return self.by_id[f"{target}#{fragment}"]
        if _key(text) in self.by_text:
            return self.by_text[_key(text)]
        if target and not fragment:
            return self.first.get(target)
        return None


def translated_navigation(
    archive: SafeZip,
    package: EpubPackage,
    headings: Headings,
    *,
    target_language: str,
    rewritten: Mapping[str, bytes],
) -> dict[str, bytes]:
    """The navigation document and NCX with translated labels (those not already rewritten as
    chapters of the book)."""
    out: dict[str, bytes] = {}
    nav = next((i for i in package.manifest.values() if "nav" in i.properties and i.path), None)
    if nav is not None and nav.path and archive.has(nav.path) and nav.path not in rewritten:
        data = _rewrite_nav(archive.read(nav.path), nav.path, headings, target_language)
        if data is not None:
            out[nav.path] = data
    ncx = package.manifest.get(package.toc_id or "") or next(
        (i for i in package.manifest.values() if i.media_type == NCX_TYPE), None
    )
    if ncx is not None and ncx.path and archive.has(ncx.path):
        data = _rewrite_ncx(archive.read(ncx.path), ncx.path, headings, target_language)
        if data is not None:
            out[ncx.path] = data
    return out


def _rewrite_nav(data: bytes, path: str, headings: Headings, lang: str) -> bytes | None:
    try:
        tree = load_xhtml(data, "the EPUB navigation document")
    except DocumentError:
        return None  # a broken nav is carried over as it was
    base = posixpath.dirname(path)
    for nav in (el for el in tree.getroot().iter() if local_name(el) == "nav"):
        if "page-list" in (nav.get(f"{{{OPS_NS}}}type") or "").split():
            continue  # page numbers
        for link in (el for el in nav.iter() if local_name(el) == "a"):
            translation = _translation(headings, base, link.get("href") or "", link)
            if translation is not None:
                _set_text(link, translation)
    set_document_language(tree, lang)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


def _rewrite_ncx(data: bytes, path: str, headings: Headings, lang: str) -> bytes | None:
    try:
        tree = parse_xml(data, "the EPUB table of contents (NCX)")
    except DocumentError:
        return None
    base = posixpath.dirname(path)
    root = tree.getroot()
    for point in (el for el in root.iter() if local_name(el) == "navpoint"):
        label = next((el for el in point if local_name(el) == "navlabel"), None)
        content = next((el for el in point if local_name(el) == "content"), None)
        text = (
            None if label is None else next((el for el in label if local_name(el) == "text"), None)
        )
        if text is None or content is None:
            continue
        translation = _translation(headings, base, content.get("src") or "", text)
        if translation is not None:
            text.text = translation
    root.set("{http://www.w3.org/XML/1998/namespace}lang", lang)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


def _translation(headings: Headings, base: str, href: str, element: etree._Element) -> str | None:
    where, _, fragment = href.partition("#")
    target = resolve_href(base, unquote(where.strip())) if where.strip() else None
    text = "".join(element.itertext())
    return headings.label(target, unquote(fragment.strip()), text)


def _set_text(link: etree._Element, text: str) -> None:
    """The link's label becomes ``text``; elements inside it without text (icons) stay."""
    for child in list(link):
        if "".join(child.itertext()).strip():
            link.remove(child)
        else:
            child.tail = None
    link.text = text


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()
