"""Rebuild an EPUB with translated text, keeping everything else as it was.

Only the text of the blocks found by ``iter_text_blocks`` changes (their inline elements are
put back around the translated words), the navigation labels follow their headings or
take their own translations (``epub_nav.py``), and the language and reading direction become
the target's: images, styles, links, identifiers and the spine are carried over, so the
translated book keeps the publisher's layout. The zip is written the way EPUB readers
require: ``mimetype`` first and stored uncompressed, every other entry deflated, in the
original order.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from folio_worker.engine.documents.epub import split_anchor
from folio_worker.engine.documents.epub_nav import Headings, translated_navigation
from folio_worker.engine.documents.epub_package import (
    DC_NS,
    EPUB_MIMETYPE,
    EpubPackage,
    read_package,
)
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import Document
from folio_worker.engine.documents.placeholders import strip
from folio_worker.engine.documents.safezip import SafeZip
from folio_worker.engine.documents.xhtml import (
    INNER_BILINGUAL_TAGS,
    declared_language,
    inline_source,
    iter_text_blocks,
    load_xhtml,
    local_name,
    replace_block_text,
    set_document_language,
    source_copy,
)


def rebuild_epub(
    original: bytes,
    document: Document,
    translations: Mapping[int, str],
    *,
    target_language: str,
    bilingual: bool,
    title_suffix: str | None,
    colophon: str | None = None,
    vertical: bool = False,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """The original EPUB with translated blocks (and, if ``bilingual``, the source kept).

    ``colophon`` (e.g. "Machine translation: <model>, <date>") is recorded in the package
    metadata; ``vertical`` writes a CJK target top to bottom, right to left; ``labels``
    translate the navigation labels that match no heading, by their source text."""
    archive = SafeZip(original, ParseLimits(), "EPUB")
    package = read_package(archive)
    per_path: dict[str, dict[int, str]] = {}
    for block in document.blocks:
        located = split_anchor(block.anchor) if block.anchor else None
        translated = translations.get(block.index)
        if located is None or translated is None:
            continue  # untranslated: the source stays (blank: merged into a neighbour)
        path, ordinal = located
        per_path.setdefault(path, {})[ordinal] = translated.strip()
    layout = Layout.of(target_language, vertical=vertical)
    headings = Headings().with_labels(labels or {})
    replaced: dict[str, bytes] = {}
    for path, texts in per_path.items():
        if archive.has(path):
            replaced[path] = _rewrite_document(
                archive.read(path),
                path,
                texts,
                target_language,
                bilingual,
                document.language,
                layout,
                headings,
            )
    replaced.update(
        translated_navigation(
            archive, package, headings, target_language=target_language, rewritten=replaced
        )
    )
    replaced[package.opf_path] = _rewrite_package(
        package, target_language, title_suffix, colophon, layout
    )
    return _write_zip(archive, replaced)


RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "sd", "ug", "dv", "ckb"})
_VERTICAL_LANGUAGES = frozenset({"ja", "zh", "ko"})


@dataclass(frozen=True)
class Layout:
    """How the target language is read: its direction and, for CJK, optionally vertical."""

    direction: str  # "ltr" or "rtl"
    vertical: bool

    @classmethod
    def of(cls, target_language: str, *, vertical: bool) -> Layout:
        code = target_language.split("-")[0].lower()
        return cls(
            direction="rtl" if code in RTL_LANGUAGES else "ltr",
            vertical=vertical and code in _VERTICAL_LANGUAGES,
        )

    @property
    def page_progression(self) -> str:
        # Vertical CJK pages turn right to left, as RTL scripts do.
        return "rtl" if self.vertical or self.direction == "rtl" else "ltr"

    @property
    def writing_mode(self) -> str:
        return "vertical-rl" if self.vertical else "horizontal-tb"


def _rewrite_document(
    data: bytes,
    path: str,
    texts: Mapping[int, str],
    target_language: str,
    bilingual: bool,
    source_language: str | None,
    layout: Layout,
    headings: Headings,
) -> bytes:
    tree = load_xhtml(data, path)
    source_lang = declared_language(tree) or source_language
    blocks = list(iter_text_blocks(tree))
    for ordinal, block in enumerate(blocks):
        text = texts.get(ordinal)
        if text is None:
            continue
        if block.kind == "heading":
            headings.add(path, block.element.get("id"), strip(block.text), strip(text).strip())
        if not bilingual:
            replace_block_text(block, text)
        elif local_name(block.element) in INNER_BILINGUAL_TAGS:
            replace_block_text(block, text, prefix=inline_source(block, lang=source_lang))
        else:
            block.element.addprevious(source_copy(block, lang=source_lang))
            replace_block_text(block, text)
    set_document_language(tree, target_language)
    _set_layout(tree, layout)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


def _set_layout(tree: etree._ElementTree, layout: Layout) -> None:
    """The target's direction on the root, and its writing mode (a vertical source becomes
    horizontal for a target that is not written vertically, and the other way round)."""
    root = tree.getroot()
    if layout.direction == "rtl" or root.get("dir"):
        root.set("dir", layout.direction)
    style = [
        rule
        for rule in (root.get("style") or "").split(";")
        if rule.strip() and "writing-mode" not in rule
    ]
    if layout.vertical or _declares_vertical(tree):
        style += [
            f"writing-mode: {layout.writing_mode}",
            f"-epub-writing-mode: {layout.writing_mode}",
        ]
    if style:
        root.set("style", "; ".join(rule.strip() for rule in style))


def _declares_vertical(tree: etree._ElementTree) -> bool:
    """Whether the document's own style sheet or style attributes write it vertically."""
    for node in tree.getroot().iter():
        if not isinstance(node.tag, str):
            continue
        if local_name(node) == "style" and "vertical" in (node.text or ""):
            return True
        if "vertical" in (node.get("style") or ""):
            return True
    return False


def _rewrite_package(
    package: EpubPackage,
    target_language: str,
    suffix: str | None,
    colophon: str | None,
    layout: Layout,
) -> bytes:
    """The OPF with the target language, reading direction, an optional colophon and, if
    given, a suffixed title; all else unchanged."""
    root = package.tree.getroot()
    metadata = next((el for el in root if local_name(el) == "metadata"), None)
    if metadata is not None:
        languages = [el for el in metadata.iter(f"{{{DC_NS}}}language")]
        if languages:
            languages[0].text = target_language
            for extra in languages[1:]:
                extra.getparent().remove(extra)
        else:
            language = etree.SubElement(metadata, f"{{{DC_NS}}}language")
            language.text = target_language
        title = next(metadata.iter(f"{{{DC_NS}}}title"), None)
        if suffix and suffix.strip() and title is not None:
            title.text = f"{(title.text or '').strip()} {suffix.strip()}".strip()
        if colophon and colophon.strip():
            _add_colophon(
                metadata, colophon.strip(), epub3=(root.get("version") or "").startswith("3")
            )
    spine = next((el for el in root if local_name(el) == "spine"), None)
    if spine is not None and (layout.page_progression == "rtl" or spine.get(_PPD)):
        spine.set(_PPD, layout.page_progression)
    return etree.tostring(package.tree, xml_declaration=True, encoding="utf-8")


_PPD = "page-progression-direction"
_OPF_NS = "http://www.idpf.org/2007/opf"


def _add_colophon(metadata: etree._Element, text: str, *, epub3: bool) -> None:
    """The machine translation recorded as a translator contributor and a description."""
    contributor = etree.SubElement(metadata, f"{{{DC_NS}}}contributor")
    contributor.text = text
    if epub3:
        contributor.set("id", "folio-machine-translation")
        role = etree.SubElement(metadata, f"{{{_OPF_NS}}}meta")
        role.set("refines", "#folio-machine-translation")
        role.set("property", "role")
        role.set("scheme", "marc:relators")
        role.text = "trl"
    else:
        contributor.set(f"{{{_OPF_NS}}}role", "trl")


def _write_zip(archive: SafeZip, replaced: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        mimetype = zipfile.ZipInfo("mimetype", date_time=(2000, 1, 1, 0, 0, 0))
        mimetype.compress_type = zipfile.ZIP_STORED
        target.writestr(mimetype, EPUB_MIMETYPE)
        written = {"mimetype"}
        for info in archive.infos:
            name = info.filename
            if name in written:
                continue
            written.add(name)
            entry = zipfile.ZipInfo(name, date_time=info.date_time)
            entry.external_attr = info.external_attr
            entry.compress_type = zipfile.ZIP_DEFLATED
            if info.is_dir():
                target.writestr(entry, b"")
                continue
            content = replaced.get(name)
            target.writestr(entry, content if content is not None else archive.read_info(info))
    return out.getvalue()
