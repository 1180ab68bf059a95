"""Locate and read the parts of an EPUB package (OPF 2 and 3) that parsing and assembly need.

container.xml names the OPF; the OPF lists the files (manifest), the reading order (spine) and
the metadata. Both the parser and the assembler read the package through this module so they
agree on which documents are chapters and where they live inside the zip.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote

from lxml import etree

from folio_worker.engine.documents.model import DocumentError
from folio_worker.engine.documents.safexml import parse_xml
from folio_worker.engine.documents.safezip import SafeZip, is_safe_name, resolve_href
from folio_worker.engine.documents.xhtml import load_xhtml, local_name

CONTAINER_PATH = "META-INF/container.xml"
EPUB_MIMETYPE = b"application/epub+zip"
DC_NS = "http://purl.org/dc/elements/1.1/"
OPS_NS = "http://www.idpf.org/2007/ops"
_XHTML_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/html+xml"})
_XHTML_SUFFIXES = (".xhtml", ".html", ".htm", ".xht")
NCX_TYPE = "application/x-dtbncx+xml"


@dataclass(frozen=True)
class ManifestItem:
    """A file listed in the OPF manifest; ``path`` is its entry name inside the zip."""

    id: str
    path: str | None
    media_type: str
    properties: frozenset[str]

    @property
    def is_xhtml(self) -> bool:
        if self.media_type in _XHTML_TYPES:
            return True
        return not self.media_type and bool(self.path and self.path.endswith(_XHTML_SUFFIXES))


@dataclass(frozen=True)
class EpubPackage:
    """The OPF of an EPUB: where it is, its parsed tree, manifest and linear XHTML spine."""

    opf_path: str
    tree: etree._ElementTree
    manifest: dict[str, ManifestItem]
    spine: tuple[ManifestItem, ...]
    toc_id: str | None

    @property
    def opf_dir(self) -> str:
        return posixpath.dirname(self.opf_path)


def read_package(archive: SafeZip) -> EpubPackage:
    """Find and parse the OPF named by container.xml."""
    if not archive.has(CONTAINER_PATH):
        raise DocumentError("The file is named .epub but is not an EPUB (no container.xml).")
    container = parse_xml(archive.read(CONTAINER_PATH), "the EPUB container")
    opf_path = next(
        (
            (el.get("full-path") or "").strip()
            for el in container.getroot().iter()
            if local_name(el) == "rootfile" and (el.get("full-path") or "").strip()
        ),
        None,
    )
    if not opf_path or not is_safe_name(opf_path) or not archive.has(opf_path):
        raise DocumentError("The file looks corrupt: the EPUB does not say where its OPF is.")
    tree = parse_xml(archive.read(opf_path), "the EPUB package (OPF)")
    opf_dir = posixpath.dirname(opf_path)
    manifest: dict[str, ManifestItem] = {}
    spine_refs: list[str] = []
    toc_id: str | None = None
    for el in tree.getroot().iter():
        name = local_name(el)
        if name == "item" and el.get("id"):
            href = unquote((el.get("href") or "").split("#", 1)[0].strip())
            manifest[el.get("id", "")] = ManifestItem(
                id=el.get("id", ""),
                path=resolve_href(opf_dir, href),
                media_type=(el.get("media-type") or "").strip().lower(),
                properties=frozenset((el.get("properties") or "").split()),
            )
        elif name == "spine":
            toc_id = el.get("toc")
        elif name == "itemref" and (el.get("linear") or "yes").strip().lower() != "no":
            spine_refs.append(el.get("idref") or "")
    spine: list[ManifestItem] = []
    for ref in spine_refs:
        item = manifest.get(ref)
        if item is None or not item.is_xhtml:
            continue
        if item.path is None:
            raise DocumentError("The EPUB refers to a chapter file outside the book; refused.")
        if archive.has(item.path) and item not in spine:
            spine.append(item)
    return EpubPackage(opf_path, tree, manifest, tuple(spine), toc_id)


def read_metadata(
    package: EpubPackage,
) -> tuple[str | None, tuple[str, ...], str | None, dict[str, str]]:
    """(title, authors, language, other metadata) from the OPF metadata section."""
    title: str | None = None
    language: str | None = None
    authors: list[str] = []
    metadata: dict[str, str] = {}
    version = package.tree.getroot().get("version")
    if version:
        metadata["epub_version"] = version
    section = next((el for el in package.tree.getroot() if local_name(el) == "metadata"), None)
    if section is None:
        return None, (), None, metadata
    for el in section.iter():
        name = local_name(el)
        if name is None:
            continue
        text = " ".join("".join(el.itertext()).split())
        if etree.QName(el).namespace == DC_NS:
            if not text:
                continue
            if name == "title":
                title = title or text
            elif name == "creator":
                authors.append(text)
            elif name == "language":
                language = language or text
            else:
                metadata.setdefault(name, text)
        elif name == "meta" and not el.get("refines"):
            key = el.get("property") or el.get("name")
            value = text if el.get("property") else (el.get("content") or "").strip()
            if key and value:
                metadata.setdefault(key, value)
    return title, tuple(authors), language, metadata


def toc_labels(archive: SafeZip, package: EpubPackage) -> dict[str, str]:
    """Chapter labels by document path, from the EPUB 3 nav, then the EPUB 2 NCX."""
    labels: dict[str, str] = {}
    nav = next((i for i in package.manifest.values() if "nav" in i.properties and i.path), None)
    if nav is not None and nav.path and archive.has(nav.path):
        _nav_labels(archive, nav.path, labels)
    ncx = package.manifest.get(package.toc_id or "") or next(
        (i for i in package.manifest.values() if i.media_type == NCX_TYPE), None
    )
    if ncx is not None and ncx.path and archive.has(ncx.path):
        _ncx_labels(archive, ncx.path, labels)
    return labels


def _nav_labels(archive: SafeZip, path: str, labels: dict[str, str]) -> None:
    try:
        tree = load_xhtml(archive.read(path), "the EPUB navigation document")
    except DocumentError:
        return  # labels are a nicety; a broken nav must not sink the book
    navs = [el for el in tree.getroot().iter() if local_name(el) == "nav"]
    tocs = [el for el in navs if "toc" in (el.get(f"{{{OPS_NS}}}type") or "").split()]
    for nav_el in tocs or navs[:1]:
        for link in nav_el.iter():
            if local_name(link) == "a" and link.get("href"):
                _add_label(labels, posixpath.dirname(path), link.get("href", ""), link)


def _ncx_labels(archive: SafeZip, path: str, labels: dict[str, str]) -> None:
    try:
        tree = parse_xml(archive.read(path), "the EPUB table of contents (NCX)")
    except DocumentError:
        return
    for point in tree.getroot().iter():
        if local_name(point) != "navpoint":
            continue
        label = next((el for el in point if local_name(el) == "navlabel"), None)
        content = next((el for el in point if local_name(el) == "content"), None)
        if label is not None and content is not None and content.get("src"):
            _add_label(labels, posixpath.dirname(path), content.get("src", ""), label)


def _add_label(labels: dict[str, str], base: str, href: str, element: etree._Element) -> None:
    target = resolve_href(base, unquote(href.split("#", 1)[0].strip()))
    text = " ".join("".join(element.itertext()).split())
    if target and text:
        labels.setdefault(target, text)
