"""Word (.docx) books via python-docx.

python-docx reads zip entries with ``zipfile.read``, which trusts the sizes in the archive. The
upload is therefore first re-packed through ``SafeZip`` (bounded reads, checked sizes) into a
plain in-memory zip that only holds the XML parts; media are emptied because text extraction
never needs them. Title and Heading 1 open chapters; Heading 2 to 9 are heading blocks. Each
block's text carries its runs' formatting and links as placeholder tags (``docx_inline.py``)
and its anchor is the paragraph's number, for the translated DOCX (``docx_write.py``).
"""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.document import Document as WordDocument
from docx.oxml.ns import qn
from docx.styles.style import BaseStyle
from docx.text.paragraph import Paragraph
from lxml import etree

from folio_worker.engine.documents.builder import DocumentBuilder
from folio_worker.engine.documents.docx_inline import marked_text
from folio_worker.engine.documents.headings import is_chapter_heading
from folio_worker.engine.documents.limits import ParseLimits
from folio_worker.engine.documents.model import Document, DocumentError
from folio_worker.engine.documents.placeholders import strip
from folio_worker.engine.documents.safezip import SafeZip

_XML_SUFFIXES = (".xml", ".rels")
_HEADING_NAME = re.compile(r"heading\s*([1-9])")
_MAX_STYLE_DEPTH = 10
_CHAPTER_LEVEL = 1
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_METADATA_FIELDS = ("subject", "keywords", "category", "comments", "identifier", "version")


def parse_docx(data: bytes, limits: ParseLimits) -> Document:
    """Parse a Word document: body paragraphs (tables included) in reading order."""
    word = docx.Document(io.BytesIO(_repack(SafeZip(data, limits, "DOCX"))))
    paragraphs = list(_paragraphs(word))
    has_chapter_styles = any(
        level is not None and level <= _CHAPTER_LEVEL for level, _, _, _ in paragraphs
    )
    builder = DocumentBuilder("docx", limits)
    first_title: str | None = None
    for level, text, in_table, number in paragraphs:
        plain = strip(text)
        if not plain.strip():
            continue
        anchor = paragraph_anchor(number)
        if level == 0 and first_title is None:
            first_title = plain
        if level is not None and level <= _CHAPTER_LEVEL:
            builder.start_chapter(plain)
            builder.add("heading", text, anchor)
        elif level is not None:
            builder.add("heading", text, anchor)
        elif not has_chapter_styles and not in_table and is_chapter_heading(plain):
            builder.start_chapter(plain)
            builder.add("heading", text, anchor)
        else:
            builder.add("paragraph", text, anchor)
    core = word.core_properties
    authors = tuple(a.strip() for a in (core.author or "").split(";") if a.strip())
    metadata = {
        name: str(value).strip()
        for name in _METADATA_FIELDS
        if (value := getattr(core, name, None)) and str(value).strip()
    }
    return builder.build(
        title=core.title or first_title,
        authors=authors,
        language=core.language or None,
        metadata=metadata,
    )


def _repack(archive: SafeZip) -> bytes:
    """A trusted copy of the archive: XML parts read with bounds, media emptied."""
    if not archive.has("word/document.xml"):
        raise DocumentError("The file is named .docx but is not a Word document.")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as repacked:
        seen: set[str] = set()
        for info in archive.infos:
            if info.filename in seen or info.is_dir():
                continue
            seen.add(info.filename)
            content = b""
            if info.filename.lower().endswith(_XML_SUFFIXES):
                content = archive.read_info(info)
                if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
                    raise DocumentError(
                        "The file was refused: the DOCX declares an XML DTD or entities, "
                        "which Word never writes and which can be used to attack the reader."
                    )
            repacked.writestr(info.filename, content)
    return out.getvalue()


def body_paragraphs(body: etree._Element) -> list[etree._Element]:
    """The body's paragraphs in reading order, text boxes included; parsing and writing
    number them alike. Paragraphs under ``mc:Fallback`` are skipped: they duplicate the text
    of the preferred ``mc:Choice`` rendering."""
    return [
        element
        for element in body.iter(qn("w:p"))
        if not any(ancestor.tag == _MC_FALLBACK for ancestor in element.iterancestors())
    ]


def paragraph_anchor(number: int) -> str:
    return f"w:p#{number}"


def anchor_number(anchor: str | None) -> int | None:
    if not anchor or not anchor.startswith("w:p#") or not anchor[4:].isdigit():
        return None
    return int(anchor[4:])


def _paragraphs(word: WordDocument) -> list[tuple[int | None, str, bool, int]]:
    """(heading level or None, text with placeholder tags, in a table, number) for every body
    paragraph. Level 0 is the Title style."""
    out: list[tuple[int | None, str, bool, int]] = []
    cell = qn("w:tc")
    for number, element in enumerate(body_paragraphs(word.element.body)):
        in_table = any(ancestor.tag == cell for ancestor in element.iterancestors())
        paragraph = Paragraph(element, word)
        text, _ = marked_text(element)
        out.append((_heading_level(paragraph.style), text, in_table, number))
    return out


def _heading_level(style: BaseStyle | None) -> int | None:
    """0 for Title, N for Heading N (following ``based on`` links), else None."""
    depth = 0
    while style is not None and depth < _MAX_STYLE_DEPTH:
        name = (style.name or "").strip().lower()
        style_id = (style.style_id or "").strip().lower()
        if name == "title" or style_id == "title":
            return 0
        match = _HEADING_NAME.fullmatch(name) or _HEADING_NAME.fullmatch(style_id)
        if match:
            return int(match.group(1))
        style = style.base_style
        depth += 1
    return None
