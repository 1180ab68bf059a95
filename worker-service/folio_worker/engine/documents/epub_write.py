"""Rebuild an EPUB with translated text, keeping everything else as it was.

Only the text of the blocks found by ``iter_text_blocks`` changes: images, styles, links,
navigation, identifiers and the spine are carried over, so the translated book keeps the
publisher's layout. The zip is written the way EPUB readers require: ``mimetype`` first and
stored uncompressed, every other entry deflated, in the original order.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from lxml import etree

from folio_worker.engine.documents.epub import split_anchor
from folio_worker.engine.documents.epub_package import (
    DC_NS,
    EPUB_MIMETYPE,
    EpubPackage,
    read_package,
)
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import Document
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
) -> bytes:
    """The original EPUB with translated blocks (and, if ``bilingual``, the source kept)."""
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
    replaced: dict[str, bytes] = {}
    for path, texts in per_path.items():
        if archive.has(path):
            replaced[path] = _rewrite_document(
                archive.read(path), path, texts, target_language, bilingual, document.language
            )
    replaced[package.opf_path] = _rewrite_package(package, target_language, title_suffix)
    return _write_zip(archive, replaced)


def _rewrite_document(
    data: bytes,
    path: str,
    texts: Mapping[int, str],
    target_language: str,
    bilingual: bool,
    source_language: str | None,
) -> bytes:
    tree = load_xhtml(data, path)
    source_lang = declared_language(tree) or source_language
    blocks = list(iter_text_blocks(tree))
    for ordinal, block in enumerate(blocks):
        text = texts.get(ordinal)
        if text is None:
            continue
        if not bilingual:
            replace_block_text(block, text)
        elif local_name(block.element) in INNER_BILINGUAL_TAGS:
            replace_block_text(block, text, prefix=inline_source(block, lang=source_lang))
        else:
            block.element.addprevious(source_copy(block, lang=source_lang))
            replace_block_text(block, text)
    set_document_language(tree, target_language)
    return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


def _rewrite_package(package: EpubPackage, target_language: str, suffix: str | None) -> bytes:
    """The OPF with the target language and, if given, a suffixed title; all else unchanged."""
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
    return etree.tostring(package.tree, xml_declaration=True, encoding="utf-8")


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
