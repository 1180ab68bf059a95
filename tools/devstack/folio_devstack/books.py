"""Small books in every supported format, made on the fly for end-to-end tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from html import escape

Chapter = tuple[str, Sequence[str]]  # (title, paragraphs)


def make_text(chapters: Sequence[Chapter], *, bom: bool = False, encoding: str = "utf-8") -> bytes:
    text = "\n\n".join(f"{title}\n\n" + "\n\n".join(paras) for title, paras in chapters)
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def make_markdown(chapters: Sequence[Chapter]) -> bytes:
    parts = []
    for title, paras in chapters:
        parts.append(f"# {title}")
        parts.extend(paras)
    return "\n\n".join(parts).encode()


def make_docx(chapters: Sequence[Chapter], *, title: str = "A Test Book") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for chapter_title, paras in chapters:
        document.add_heading(chapter_title, level=1)
        for para in paras:
            document.add_paragraph(para)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_pdf(chapters: Sequence[Chapter]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    flow = []
    for title, paras in chapters:
        flow.append(Paragraph(escape(title), styles["Heading1"]))
        for para in paras:
            flow.append(Paragraph(escape(para), styles["BodyText"]))
            flow.append(Spacer(1, 12))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4).build(flow)
    return out.getvalue()


_XHTML = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
    'lang="en" xml:lang="en">'
    "<head><title>{title}</title></head><body>{body}</body></html>"
)


def make_epub(
    chapters: Sequence[Chapter],
    *,
    title: str = "A Test Book",
    author: str = "Ann Author",
    xhtml: bool = False,
    extra_nav: Sequence[tuple[str, str]] = (),
) -> bytes:
    """With ``xhtml``, each paragraph is a body fragment written as given (``<p>`` with inline
    markup, an ``<aside>`` for a note, ...). ``extra_nav``: more table-of-contents entries,
    (href, label), after the chapters'."""
    manifest, spine, files = [], [], {}
    for i, (chapter_title, paras) in enumerate(chapters, start=1):
        body = f"<h1>{escape(chapter_title)}</h1>" + "".join(
            p if xhtml else f"<p>{escape(p)}</p>" for p in paras
        )
        files[f"OEBPS/ch{i:02d}.xhtml"] = _XHTML.format(title=escape(chapter_title), body=body)
        manifest.append(
            f'<item id="c{i}" href="ch{i:02d}.xhtml" media-type="application/xhtml+xml"/>'
        )
        spine.append(f'<itemref idref="c{i}"/>')
    nav = "".join(
        f'<li><a href="ch{i:02d}.xhtml">{escape(t)}</a></li>'
        for i, (t, _) in enumerate(chapters, start=1)
    ) + "".join(
        f'<li><a href="{escape(href)}">{escape(label)}</a></li>' for href, label in extra_nav
    )
    files["OEBPS/nav.xhtml"] = _XHTML.format(
        title="Contents",
        body=f'<nav xmlns:epub="http://www.idpf.org/2007/ops" epub:type="toc"><ol>{nav}</ol></nav>',
    )
    opf = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:identifier id="uid">urn:uuid:folio-test-book</dc:identifier>'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>{escape(author)}</dc:creator>"
        '<dc:language>en</dc:language><meta property="dcterms:modified">2026-01-01T00:00:00Z'
        "</meta></metadata><manifest>"
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        + "".join(manifest)
        + "</manifest><spine>"
        + "".join(spine)
        + "</spine></package>"
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" '
        'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip")
        zf.writestr("META-INF/container.xml", container, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("OEBPS/content.opf", opf, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in files.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
