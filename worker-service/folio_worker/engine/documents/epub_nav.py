"""Navigation of a translated EPUB: table-of-contents labels in the target language.

A label usually names a heading of the book, and the heading was translated with its
chapter: it takes the translation of the heading its link points to (``chapter.xhtml#id``),
else of a heading whose source text is the label's, else of the first heading of the
document it links to. The labels that match no heading (``unmatched_labels``, found while
the book is parsed, by the same rules) are translated by the planner in one call of their
own and given here as ``Headings.labels``. Both the EPUB 3 navigation document and the
EPUB 2 NCX are rewritten.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterator, Mapping
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
    # Translations of the labels that match no heading, by the label's source text.
    labels: Mapping[str, str] = field(default_factory=dict)

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
        if target and not fragment and target in self.first:
            return self.first[target]
        return self.labels.get(_key(text)) if self.labels else None

    def with_labels(self, labels: Mapping[str, str]) -> Headings:
        self.labels = {_key(source): text for source, text in labels.items() if text.strip()}
        return self


def unmatched_labels(
    archive: SafeZip, package: EpubPackage, headings: Headings, chapters: Collection[str]
) -> list[str]:
    """The navigation labels (EPUB 3 nav, EPUB 2 NCX) that no heading of ``headings`` (the
    book's, in the source) would give a translation: each once, in reading order. A nav
    document that is one of the book's ``chapters`` is translated as one."""
    found: dict[str, str] = {}
    for base, href, element in _entries(archive, package, skip=chapters):
        text = " ".join("".join(element.itertext()).split())
        if text and _translation(headings, base, href, element) is None:
            found.setdefault(_key(text), text)
    return list(found.values())


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
    nav, ncx = _nav_item(package), _ncx_item(package)
    if nav is not None and archive.has(nav) and nav not in rewritten:
        tree = _nav_tree(archive.read(nav))
        if tree is not None:  # a broken nav is carried over as it was
            for href, link in _nav_links(tree):
                translation = _translation(headings, posixpath.dirname(nav), href, link)
                if translation is not None:
                    _set_text(link, translation)
            set_document_language(tree, target_language)
            out[nav] = etree.tostring(tree, xml_declaration=True, encoding="utf-8")
    if ncx is not None and archive.has(ncx):
        tree = _ncx_tree(archive.read(ncx))
        if tree is not None:
            for src, text in _ncx_points(tree):
                translation = _translation(headings, posixpath.dirname(ncx), src, text)
                if translation is not None:
                    text.text = translation
            tree.getroot().set("{http://www.w3.org/XML/1998/namespace}lang", target_language)
            out[ncx] = etree.tostring(tree, xml_declaration=True, encoding="utf-8")
    return out


def _entries(
    archive: SafeZip, package: EpubPackage, skip: Collection[str]
) -> Iterator[tuple[str, str, etree._Element]]:
    """(directory, href, label element) of every navigation entry that gets a label."""
    nav, ncx = _nav_item(package), _ncx_item(package)
    if nav is not None and nav not in skip and archive.has(nav):
        tree = _nav_tree(archive.read(nav))
        for href, link in _nav_links(tree) if tree is not None else ():
            yield posixpath.dirname(nav), href, link
    if ncx is not None and archive.has(ncx):
        tree = _ncx_tree(archive.read(ncx))
        for src, text in _ncx_points(tree) if tree is not None else ():
            yield posixpath.dirname(ncx), src, text


def _nav_item(package: EpubPackage) -> str | None:
    nav = next((i for i in package.manifest.values() if "nav" in i.properties and i.path), None)
    return nav.path if nav is not None else None


def _ncx_item(package: EpubPackage) -> str | None:
    ncx = package.manifest.get(package.toc_id or "") or next(
        (i for i in package.manifest.values() if i.media_type == NCX_TYPE), None
    )
    return ncx.path if ncx is not None else None


def _nav_tree(data: bytes) -> etree._ElementTree | None:
    try:
        return load_xhtml(data, "the EPUB navigation document")
    except DocumentError:
        return None


def _ncx_tree(data: bytes) -> etree._ElementTree | None:
    try:
        return parse_xml(data, "the EPUB table of contents (NCX)")
    except DocumentError:
        return None


def _nav_links(tree: etree._ElementTree) -> Iterator[tuple[str, etree._Element]]:
    for nav in (el for el in tree.getroot().iter() if local_name(el) == "nav"):
        if "page-list" in (nav.get(f"{{{OPS_NS}}}type") or "").split():
            continue  # page numbers
        for link in (el for el in nav.iter() if local_name(el) == "a"):
            yield link.get("href") or "", link


def _ncx_points(tree: etree._ElementTree) -> Iterator[tuple[str, etree._Element]]:
    for point in (el for el in tree.getroot().iter() if local_name(el) == "navpoint"):
        label = next((el for el in point if local_name(el) == "navlabel"), None)
        content = next((el for el in point if local_name(el) == "content"), None)
        text = (
            None if label is None else next((el for el in label if local_name(el) == "text"), None)
        )
        if text is not None and content is not None:
            yield content.get("src") or "", text


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
