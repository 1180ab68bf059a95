"""Rebuild a Word document with translated paragraphs, keeping everything else as it was.

Only the runs of translated paragraphs change (their formatting and links put back from the
placeholder tags, ``docx_inline.py``); styles, numbering, tables, pictures, headers and the
rest of the package are copied. The document's language becomes the target's (core properties
and the default run language).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping

from docx.oxml.ns import qn
from lxml import etree

from folio_worker.engine.documents.docx import anchor_number, body_paragraphs
from folio_worker.engine.documents.docx_inline import marked_text, write_paragraph
from folio_worker.engine.documents.epub_write import RTL_LANGUAGES
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import Document
from folio_worker.engine.documents.safexml import parse_xml
from folio_worker.engine.documents.safezip import SafeZip

_DOCUMENT = "word/document.xml"
_STYLES = "word/styles.xml"
_CORE = "docProps/core.xml"
_DC = "http://purl.org/dc/elements/1.1/"


def rebuild_docx(
    original: bytes, document: Document, translations: Mapping[int, str], *, target_language: str
) -> bytes:
    archive = SafeZip(original, ParseLimits(), "DOCX")
    by_number: dict[int, str] = {}
    for block in document.blocks:
        number = anchor_number(block.anchor)
        translated = translations.get(block.index)
        if number is not None and translated is not None and translated.strip():
            by_number[number] = translated.strip()
    tree = parse_xml(archive.read(_DOCUMENT), "the Word document")
    body = tree.getroot().find(qn("w:body"))
    if body is not None:
        paragraphs = body_paragraphs(body)
        # Text boxes sit inside a run of an outer paragraph: the inner ones are written first,
        # so the outer paragraph carries them, translated, when its runs are rebuilt.
        for number in sorted(by_number, reverse=True):
            if number < len(paragraphs):
                paragraph = paragraphs[number]
                _, spans = marked_text(paragraph)
                write_paragraph(paragraph, by_number[number], spans)
                if target_language.split("-")[0] in RTL_LANGUAGES:
                    _right_to_left(paragraph)
    replaced = {_DOCUMENT: etree.tostring(tree, xml_declaration=True, encoding="UTF-8")}
    if archive.has(_STYLES):
        replaced[_STYLES] = _default_language(archive.read(_STYLES), target_language)
    if archive.has(_CORE):
        replaced[_CORE] = _core_language(archive.read(_CORE), target_language)
    return _write_zip(archive, replaced)


def _right_to_left(paragraph: etree._Element) -> None:
    properties = paragraph.find(qn("w:pPr"))
    if properties is None:
        properties = etree.Element(qn("w:pPr"))
        paragraph.insert(0, properties)
    if properties.find(qn("w:bidi")) is None:
        properties.append(etree.Element(qn("w:bidi")))


def _default_language(data: bytes, language: str) -> bytes:
    """``w:lang`` of the default run properties: the script slot the target is written in."""
    tree = parse_xml(data, "the Word styles")
    defaults = tree.getroot().find(qn("w:docDefaults"))
    if defaults is None:
        return data
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = etree.SubElement(defaults, qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = etree.SubElement(rpr_default, qn("w:rPr"))
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = etree.SubElement(rpr, qn("w:lang"))
    code = language.split("-")[0]
    slot = (
        "w:eastAsia"
        if code in ("ja", "zh", "ko")
        else "w:bidi"
        if code in RTL_LANGUAGES
        else "w:val"
    )
    lang.set(qn(slot), language)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _core_language(data: bytes, language: str) -> bytes:
    tree = parse_xml(data, "the Word core properties")
    root = tree.getroot()
    element = root.find(f"{{{_DC}}}language")
    if element is None:
        element = etree.SubElement(root, f"{{{_DC}}}language")
    element.text = language
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _write_zip(archive: SafeZip, replaced: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        written: set[str] = set()
        for info in archive.infos:
            if info.filename in written or info.is_dir():
                continue
            written.add(info.filename)
            content = replaced.get(info.filename)
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, content if content is not None else archive.read_info(info))
    return out.getvalue()
