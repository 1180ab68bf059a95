"""EPUB parsing and re-assembly against a small book built here (nav, NCX, cover, CSS, inline
markup, a line break), checking that a translated EPUB parses back to the translated text while
everything that is not text stays byte-identical."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from folio_worker.engine.documents import (
    Document,
    DocumentError,
    build_outputs,
    iter_text_blocks,
    parse_document,
)
from folio_worker.engine.documents.placeholders import TAG
from folio_worker.engine.documents.xhtml import load_xhtml

XHTML = "http://www.w3.org/1999/xhtml"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
CSS = b"body { font-family: serif; }\np.note { color: #333; }\n"


def page(title: str, body: str, lang: str = "en") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        f'<html xmlns="{XHTML}" xmlns:epub="http://www.idpf.org/2007/ops" lang="{lang}" '
        f'xml:lang="{lang}"><head><title>{title}</title>'
        '<link rel="stylesheet" type="text/css" href="../styles/book.css"/></head>'
        f"<body>{body}</body></html>"
    ).encode()


CHAPTERS = {
    "OEBPS/text/cover.xhtml": page(
        "Cover", '<div class="cover"><img src="../images/cover.png" alt=""/></div>'
    ),
    "OEBPS/text/ch01.xhtml": page(
        "One",
        '<section epub:type="chapter"><h1 id="c1">Chapter One</h1>'
        '<p class="first">It was a <em>dark</em> and stormy night.</p>'
        "<p>The rain fell&nbsp;in torrents.</p>"
        "<blockquote><p>A quoted line.</p></blockquote></section>",
    ),
    "OEBPS/text/ch02.xhtml": page(
        "Two",
        "<h2>Chapter Two</h2><p>Roses are red,<br/>violets are blue.</p>"
        "<ul><li>First item</li><li>Second <strong>item</strong></li></ul>"
        '<p><a id="page12"/>Text after an anchor.</p>',
    ),
    "OEBPS/text/ch03.xhtml": page(
        "Three",
        "<div>Loose text in a div.<p>Nested paragraph.</p></div>"
        "<table><tr><th>Name</th><td>Value</td></tr></table>",
    ),
}

NAV = page(
    "Contents",
    '<nav epub:type="toc"><h1>Contents</h1><ol>'
    '<li><a href="ch01.xhtml">One (nav)</a></li>'
    '<li><a href="ch02.xhtml">Two (nav)</a></li>'
    '<li><a href="ch03.xhtml#x">Three (nav)</a></li></ol></nav>',
)

NCX = b"""<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">
<head><meta name="dtb:uid" content="urn:uuid:1234"/></head>
<docTitle><text>A Test Book</text></docTitle>
<navMap>
<navPoint id="n1" playOrder="1"><navLabel><text>One (ncx)</text></navLabel>
<content src="text/ch01.xhtml"/></navPoint>
<navPoint id="n3" playOrder="2"><navLabel><text>Three (ncx)</text></navLabel>
<content src="text/ch03.xhtml"/></navPoint>
</navMap></ncx>"""

OPF = b"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="uid">urn:uuid:1234</dc:identifier>
<dc:title>A Test Book</dc:title>
<dc:creator>Ann Author</dc:creator>
<dc:creator>Bob Writer</dc:creator>
<dc:language>en</dc:language>
<dc:publisher>Folio Press</dc:publisher>
<meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>
<meta name="cover" content="cover-image"/>
</metadata>
<manifest>
<item id="nav" href="text/nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>
<item id="css" href="styles/book.css" media-type="text/css"/>
<item id="cover-image" href="images/cover.png" media-type="image/png" properties="cover-image"/>
<item id="cover" href="text/cover.xhtml" media-type="application/xhtml+xml"/>
<item id="c1" href="text/ch01.xhtml" media-type="application/xhtml+xml"/>
<item id="c2" href="text/ch02.xhtml" media-type="application/xhtml+xml"/>
<item id="c3" href="text/ch03.xhtml" media-type="application/xhtml+xml"/>
</manifest>
<spine toc="ncx">
<itemref idref="cover"/>
<itemref idref="nav" linear="no"/>
<itemref idref="c1"/>
<itemref idref="c2"/>
<itemref idref="c3"/>
</spine>
</package>"""

CONTAINER = b"""<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
</rootfiles></container>"""


def build_epub(
    chapters: dict[str, bytes] | None = None,
    opf: bytes = OPF,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip")
        entries = {
            "META-INF/container.xml": CONTAINER,
            "OEBPS/content.opf": opf,
            "OEBPS/toc.ncx": NCX,
            "OEBPS/text/nav.xhtml": NAV,
            "OEBPS/styles/book.css": CSS,
            "OEBPS/images/cover.png": PNG,
            **(chapters if chapters is not None else CHAPTERS),
            **(extra or {}),
        }
        for name, data in entries.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.fixture(scope="module")
def epub_bytes() -> bytes:
    return build_epub()


@pytest.fixture(scope="module")
def book(epub_bytes: bytes) -> Document:
    return parse_document(epub_bytes, "Book.EPUB")


def texts(document: Document) -> list[str]:
    """What a reader sees of each block."""
    return [block.plain_text for block in document.blocks]


def shout(text: str) -> str:
    """A stand-in translation: upper case, placeholder tags kept as they are."""
    pieces = TAG.split(text)  # text, then the four groups of each tag, then text, ...
    out = []
    for i in range(0, len(pieces), 5):
        out.append(pieces[i].upper())
        if i + 4 < len(pieces):
            closing, letter, number, void = pieces[i + 1 : i + 5]
            out.append(f"<{closing}{letter}{number}{void}>")
    return "".join(out)


def test_chapters_titles_and_sources(book: Document) -> None:
    assert book.format == "epub"
    assert [c.title for c in book.chapters] == ["Chapter One", "Chapter Two", "Three (nav)"]
    assert [c.source_ref for c in book.chapters] == [
        "OEBPS/text/ch01.xhtml",
        "OEBPS/text/ch02.xhtml",
        "OEBPS/text/ch03.xhtml",
    ]
    assert [c.index for c in book.chapters] == [0, 1, 2]


def test_metadata(book: Document) -> None:
    assert book.title == "A Test Book"
    assert book.authors == ("Ann Author", "Bob Writer")
    assert book.language == "en"
    assert book.metadata["identifier"] == "urn:uuid:1234"
    assert book.metadata["publisher"] == "Folio Press"
    assert book.metadata["dcterms:modified"] == "2024-01-01T00:00:00Z"


def test_blocks_in_order_with_inline_markup_as_placeholders(book: Document) -> None:
    marked = [b.text for b in book.blocks]
    assert marked[1] == "It was a <i1>dark</i1> and stormy night."
    assert marked[7] == "Second <b1>item</b1>"
    assert marked[8] == "<x1/>Text after an anchor."
    assert texts(book) == [
        "Chapter One",
        "It was a dark and stormy night.",
        "The rain fell\u00a0in torrents.",
        "A quoted line.",
        "Chapter Two",
        "Roses are red,\nviolets are blue.",
        "First item",
        "Second item",
        "Text after an anchor.",
        "Loose text in a div.",
        "Nested paragraph.",
        "Name",
        "Value",
    ]
    assert [b.kind for b in book.blocks][:2] == ["heading", "paragraph"]
    assert [b.index for b in book.blocks] == list(range(len(book.blocks)))
    assert [b.chapter for b in book.blocks] == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2]


def test_anchors_find_the_same_elements_again(book: Document, epub_bytes: bytes) -> None:
    archive = zipfile.ZipFile(io.BytesIO(epub_bytes))
    for block in book.blocks:
        assert block.anchor is not None
        path, ordinal = block.anchor.rsplit("#", 1)
        found = list(iter_text_blocks(load_xhtml(archive.read(path), path)))
        assert found[int(ordinal)].text == block.text


def fake_translations(document: Document) -> dict[int, str]:
    return {block.index: shout(block.text) for block in document.blocks}


def test_translated_epub_round_trip(book: Document, epub_bytes: bytes) -> None:
    outputs = build_outputs(
        epub_bytes, book, fake_translations(book), target_language="ko", title_suffix="(KO)"
    )
    assert set(outputs) == {"txt", "epub"}
    translated = parse_document(outputs["epub"], "out.epub")
    assert len(translated.chapters) == len(book.chapters)
    assert [c.title for c in translated.chapters] == ["CHAPTER ONE", "CHAPTER TWO", "Three (nav)"]
    assert texts(translated) == [t.upper() for t in texts(book)]
    assert translated.language == "ko"
    assert translated.title == "A Test Book (KO)"
    assert translated.authors == book.authors
    assert translated.metadata["identifier"] == "urn:uuid:1234"


def test_translated_epub_keeps_everything_else(book: Document, epub_bytes: bytes) -> None:
    out = build_outputs(epub_bytes, book, fake_translations(book), target_language="ko")["epub"]
    original = zipfile.ZipFile(io.BytesIO(epub_bytes))
    rebuilt = zipfile.ZipFile(io.BytesIO(out))
    infos = rebuilt.infolist()
    assert infos[0].filename == "mimetype"
    assert infos[0].compress_type == zipfile.ZIP_STORED
    assert rebuilt.read("mimetype") == b"application/epub+zip"
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in infos[1:])
    assert rebuilt.namelist() == original.namelist()
    for name in ("OEBPS/images/cover.png", "OEBPS/styles/book.css"):
        assert rebuilt.read(name) == original.read(name)
    assert rebuilt.read("OEBPS/text/cover.xhtml") == original.read("OEBPS/text/cover.xhtml")
    assert rebuilt.testzip() is None

    ch1 = etree.fromstring(rebuilt.read("OEBPS/text/ch01.xhtml"))
    assert ch1.get("lang") == "ko"
    assert ch1.get("{http://www.w3.org/XML/1998/namespace}lang") == "ko"
    h1 = ch1.find(f".//{{{XHTML}}}h1")
    assert h1 is not None and h1.get("id") == "c1" and h1.text == "CHAPTER ONE"
    first = ch1.find(f".//{{{XHTML}}}p")
    assert first is not None and first.get("class") == "first"
    assert first.text == "IT WAS A " and len(first) == 1
    assert first[0].tag == f"{{{XHTML}}}em" and first[0].text == "DARK"
    assert first[0].tail == " AND STORMY NIGHT."
    link = ch1.find(f".//{{{XHTML}}}link")
    assert link is not None and link.get("href") == "../styles/book.css"

    ch2 = etree.fromstring(rebuilt.read("OEBPS/text/ch02.xhtml"))
    poem = ch2.findall(f".//{{{XHTML}}}p")[0]
    assert poem.text == "ROSES ARE RED," and poem[0].tag == f"{{{XHTML}}}br"
    assert poem[0].tail == "VIOLETS ARE BLUE."
    anchored = ch2.findall(f".//{{{XHTML}}}p")[1]
    assert anchored[0].get("id") == "page12" and anchored[0].tail == "TEXT AFTER AN ANCHOR."

    opf = etree.fromstring(rebuilt.read("OEBPS/content.opf"))
    dc = "{http://purl.org/dc/elements/1.1/}"
    assert [e.text for e in opf.iter(f"{dc}language")] == ["ko"]
    assert [e.text for e in opf.iter(f"{dc}identifier")] == ["urn:uuid:1234"]
    spine = [e.get("idref") for e in opf.iter("{http://www.idpf.org/2007/opf}itemref")]
    assert spine == ["cover", "nav", "c1", "c2", "c3"]


def test_bilingual_epub_has_both_texts_in_order(book: Document, epub_bytes: bytes) -> None:
    outputs = build_outputs(
        epub_bytes, book, fake_translations(book), target_language="ko", bilingual=True
    )
    assert set(outputs) == {"txt", "bilingual_txt", "epub", "bilingual_epub"}
    both = parse_document(outputs["bilingual_epub"], "both.epub")
    got = texts(both)
    assert got[:4] == [
        "Chapter One",
        "CHAPTER ONE",
        "It was a dark and stormy night.",
        "IT WAS A DARK AND STORMY NIGHT.",
    ]
    # List items and table cells keep the source inside the element, not as a sibling.
    assert "First item\nFIRST ITEM" in got
    assert "Value\nVALUE" in got
    assert "Loose text in a div." in got and "LOOSE TEXT IN A DIV." in got
    position = {text: i for i, text in enumerate(got)}
    for block in book.blocks:
        text = block.plain_text
        if "\n" not in text and text in position and text.upper() in position:
            assert position[text] < position[text.upper()]
    rebuilt = zipfile.ZipFile(io.BytesIO(outputs["bilingual_epub"]))
    ch1 = etree.fromstring(rebuilt.read("OEBPS/text/ch01.xhtml"))
    copies = [e for e in ch1.iter() if "folio-source" in (e.get("class") or "")]
    assert copies and all(e.get("id") is None for e in copies)
    assert copies[0].get("lang") == "en"
    ids = [e.get("id") for e in ch1.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_missing_translations_keep_source(book: Document, epub_bytes: bytes) -> None:
    partial = {b.index: shout(b.text) for b in book.blocks if b.index % 2 == 0}
    out = build_outputs(epub_bytes, book, partial, target_language="ko")["epub"]
    again = parse_document(out, "partial.epub")
    assert [b.text for b in again.blocks] == [
        shout(b.text) if b.index % 2 == 0 else b.text for b in book.blocks
    ]


def test_txt_outputs_of_epub(book: Document, epub_bytes: bytes) -> None:
    outputs = build_outputs(
        epub_bytes, book, fake_translations(book), target_language="ko", bilingual=True
    )
    txt = outputs["txt"].decode()
    assert txt.startswith("CHAPTER ONE\n\nIT WAS A DARK")
    assert "A QUOTED LINE.\n\n\nCHAPTER TWO" in txt
    assert txt.endswith("VALUE\n")
    bilingual = outputs["bilingual_txt"].decode()
    assert bilingual.startswith("Chapter One\nCHAPTER ONE\n\nIt was a dark")


def test_epub2_with_ncx_only_and_opf_prefix() -> None:
    opf = (
        OPF.replace(b'version="3.0"', b'version="2.0"')
        .replace(b' properties="nav"', b"")
        .replace(b' properties="cover-image"', b"")
    )
    chapters = dict(CHAPTERS)
    chapters["OEBPS/text/ch01.xhtml"] = page("One", "<p>No heading here.</p>")
    book = parse_document(build_epub(chapters, opf), "old.epub")
    assert [c.title for c in book.chapters] == ["One (ncx)", "Chapter Two", "Three (ncx)"]
    assert book.metadata["epub_version"] == "2.0"


def test_html_entities_and_sloppy_markup_are_read() -> None:
    chapters = {
        "OEBPS/text/ch01.xhtml": page("One", "<p>caf&eacute; &mdash; na&iuml;ve&hellip;</p>"),
        "OEBPS/text/ch02.xhtml": b"<html><body><p>Unclosed <b>bold</p><p>next</body></html>",
        "OEBPS/text/ch03.xhtml": page("Three", "<p>ok</p>"),
    }
    book = parse_document(build_epub(chapters), "sloppy.epub")
    assert texts(book)[0] == "café — naïve…"
    assert "next" in " ".join(texts(book))


def test_spine_item_outside_the_book_is_refused() -> None:
    opf = OPF.replace(b'href="text/ch01.xhtml"', b'href="../../etc/passwd.xhtml"')
    with pytest.raises(DocumentError, match="outside the book"):
        parse_document(build_epub(opf=opf), "escape.epub")


def test_navigation_labels_follow_their_translated_headings(
    book: Document, epub_bytes: bytes
) -> None:
    out = build_outputs(epub_bytes, book, fake_translations(book), target_language="ko")["epub"]
    rebuilt = zipfile.ZipFile(io.BytesIO(out))
    nav = etree.fromstring(rebuilt.read("OEBPS/text/nav.xhtml"))
    labels = [a.text for a in nav.iter(f"{{{XHTML}}}a")]
    # a link to a chapter names its heading; one into a document without a matching heading
    # (ch03.xhtml#x) keeps its label
    assert labels == ["CHAPTER ONE", "CHAPTER TWO", "Three (nav)"]
    assert nav.get("lang") == "ko"
    ncx = etree.fromstring(rebuilt.read("OEBPS/toc.ncx"))
    texts_ = [t.text for t in ncx.iter("{http://www.daisy.org/z3986/2005/ncx/}text")]
    assert texts_ == ["A Test Book", "CHAPTER ONE", "Three (ncx)"]


def test_labels_that_match_no_heading_are_found_and_take_their_own_translations(
    book: Document, epub_bytes: bytes
) -> None:
    # Parsing names the labels no heading would translate (each once, nav then NCX).
    assert book.nav_labels == ("Three (nav)", "Three (ncx)")
    own = {"Three (nav)": "셋 (목차)", "Three (ncx)": "셋"}
    out = build_outputs(
        epub_bytes, book, fake_translations(book), target_language="ko", labels=own
    )["epub"]
    rebuilt = zipfile.ZipFile(io.BytesIO(out))
    nav = etree.fromstring(rebuilt.read("OEBPS/text/nav.xhtml"))
    assert [a.text for a in nav.iter(f"{{{XHTML}}}a")] == [
        "CHAPTER ONE",
        "CHAPTER TWO",
        "셋 (목차)",
    ]
    ncx = etree.fromstring(rebuilt.read("OEBPS/toc.ncx"))
    texts_ = [t.text for t in ncx.iter("{http://www.daisy.org/z3986/2005/ncx/}text")]
    assert texts_ == ["A Test Book", "CHAPTER ONE", "셋"]


def test_a_book_whose_labels_all_name_headings_has_none_to_translate() -> None:
    nav = NAV.replace(b"Three (nav)", b"Chapter One").replace(b"ch03.xhtml#x", b"ch01.xhtml#c1")
    ncx = NCX.replace(b"Three (ncx)", b"Chapter Two").replace(
        b"text/ch03.xhtml", b"text/ch02.xhtml"
    )
    document = parse_document(
        build_epub(extra={"OEBPS/toc.ncx": ncx, "OEBPS/text/nav.xhtml": nav}), "book.epub"
    )
    assert document.nav_labels == ()


@pytest.mark.parametrize(
    ("target", "vertical", "direction", "progression", "mode"),
    [
        ("ar", False, "rtl", "rtl", None),
        ("he", False, "rtl", "rtl", None),
        ("ja", True, None, "rtl", "vertical-rl"),
        ("ja", False, None, None, None),
        ("de", True, None, None, None),  # only CJK is written vertically
    ],
)
def test_reading_direction_and_writing_mode_follow_the_target(
    book: Document,
    epub_bytes: bytes,
    target: str,
    vertical: bool,
    direction: str | None,
    progression: str | None,
    mode: str | None,
) -> None:
    from folio_worker.engine.documents.epub_write import rebuild_epub

    out = rebuild_epub(
        epub_bytes,
        book,
        fake_translations(book),
        target_language=target,
        bilingual=False,
        title_suffix=None,
        vertical=vertical,
    )
    rebuilt = zipfile.ZipFile(io.BytesIO(out))
    opf = etree.fromstring(rebuilt.read("OEBPS/content.opf"))
    spine = opf.find("{http://www.idpf.org/2007/opf}spine")
    assert spine is not None and spine.get("page-progression-direction") == progression
    ch1 = etree.fromstring(rebuilt.read("OEBPS/text/ch01.xhtml"))
    assert ch1.get("dir") == direction
    assert ch1.get("{http://www.w3.org/XML/1998/namespace}lang") == target
    style = ch1.get("style") or ""
    assert (f"writing-mode: {mode}" in style) if mode else "writing-mode" not in style


def test_a_machine_translation_colophon_is_recorded_on_request(
    book: Document, epub_bytes: bytes
) -> None:
    from folio_worker.engine.documents.epub_write import rebuild_epub

    out = rebuild_epub(
        epub_bytes,
        book,
        fake_translations(book),
        target_language="ko",
        bilingual=False,
        title_suffix=None,
        colophon="Machine translation: fake-model, 2026-12-01",
    )
    opf = etree.fromstring(zipfile.ZipFile(io.BytesIO(out)).read("OEBPS/content.opf"))
    dc = "{http://purl.org/dc/elements/1.1/}"
    contributors = [e for e in opf.iter(f"{dc}contributor")]
    assert [e.text for e in contributors] == ["Machine translation: fake-model, 2026-12-01"]
    refines = [m for m in opf.iter("{http://www.idpf.org/2007/opf}meta") if m.get("refines")]
    assert [(m.get("refines"), m.get("property"), m.text) for m in refines] == [
        (f"#{contributors[0].get('id')}", "role", "trl")
    ]
