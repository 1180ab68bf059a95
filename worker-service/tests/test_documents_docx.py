"""DOCX parsing with python-docx fixtures: styles make chapters, tables are read in order."""

from __future__ import annotations

import io

import docx
import pytest

from folio_worker.engine.documents import DocumentError, parse_document


def build_docx(headings: bool = True) -> bytes:
    document = docx.Document()
    props = document.core_properties
    props.title = "The Word Book"
    props.author = "Ann Author; Bob Writer"
    props.language = "fr-FR"
    props.subject = "Testing"
    if headings:
        document.add_paragraph("The Word Book", style="Title")
        document.add_paragraph("Front matter paragraph.")
        document.add_heading("Chapter One", level=1)
    else:
        document.add_paragraph("Chapter 1")
    document.add_paragraph("First paragraph of chapter one.")
    document.add_paragraph("")
    document.add_heading("A Section", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "1" if not headings else "Cell A1"
    table.cell(0, 1).text = "Cell B1"
    table.cell(1, 0).text = "Cell A2"
    merged = table.cell(1, 1)
    merged.text = "Cell B2"
    paragraph = document.add_paragraph("Bold ")
    paragraph.add_run("and italic").italic = True
    paragraph.add_run(" text.")
    if headings:
        document.add_heading("Chapter Two", level=1)
    else:
        document.add_paragraph("Chapter 2")
    document.add_paragraph("Second chapter text.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_structure_and_metadata() -> None:
    book = parse_document(build_docx(), "book.docx")
    assert book.format == "docx"
    assert book.title == "The Word Book"
    assert book.authors == ("Ann Author", "Bob Writer")
    assert book.language == "fr-FR"
    assert book.metadata["subject"] == "Testing"
    assert [c.title for c in book.chapters] == ["The Word Book", "Chapter One", "Chapter Two"]
    got = [(b.chapter, b.kind, b.text) for b in book.blocks]
    assert got == [
        (0, "heading", "The Word Book"),
        (0, "paragraph", "Front matter paragraph."),
        (1, "heading", "Chapter One"),
        (1, "paragraph", "First paragraph of chapter one."),
        (1, "heading", "A Section"),
        (1, "paragraph", "Cell A1"),
        (1, "paragraph", "Cell B1"),
        (1, "paragraph", "Cell A2"),
        (1, "paragraph", "Cell B2"),
        (1, "paragraph", "Bold <i1>and italic</i1> text."),  # runs as placeholder tags
        (2, "heading", "Chapter Two"),
        (2, "paragraph", "Second chapter text."),
    ]


def test_docx_without_heading_styles_uses_chapter_patterns() -> None:
    book = parse_document(build_docx(headings=False), "plain.DOCX")
    assert [c.title for c in book.chapters] == ["Chapter 1", "Chapter 2"]
    assert "1" in [b.text for b in book.blocks if b.kind == "paragraph"]  # a cell, not a chapter


def test_truncated_docx_is_corrupt() -> None:
    data = build_docx()
    with pytest.raises(DocumentError, match=r"corrupt|not a Word"):
        parse_document(data[: len(data) // 2], "cut.docx")


def test_docx_without_document_part_is_refused() -> None:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(DocumentError, match=r"named \.docx but is not a Word document"):
        parse_document(out.getvalue(), "fake.docx")


def build_formatted_docx() -> bytes:
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_heading("Chapter One", level=1)
    paragraph = document.add_paragraph("Gregor woke one ")
    paragraph.add_run("cold").italic = True
    paragraph.add_run(" morning from ")
    paragraph.add_run("uneasy").bold = True
    paragraph.add_run(" dreams and read ")
    rel = document.part.relate_to(
        "https://example.org/letter", RELATIONSHIP_TYPE.HYPERLINK, is_external=True
    )
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "the letter"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
    paragraph.add_run(" twice.")
    document.add_paragraph("Nothing else happened that day.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def formatting(paragraph) -> list[tuple[str, bool, bool, bool]]:
    """(text, bold, italic, in a hyperlink) of each run with text."""
    from docx.oxml.ns import qn

    out = []
    for run in paragraph._p.iter(qn("w:r")):
        text = "".join(t.text or "" for t in run.iter(qn("w:t")))
        if not text:
            continue
        rpr = run.find(qn("w:rPr"))
        bold = rpr is not None and rpr.find(qn("w:b")) is not None
        italic = rpr is not None and rpr.find(qn("w:i")) is not None
        out.append((text, bold, italic, run.getparent().tag == qn("w:hyperlink")))
    return out


def test_translated_docx_keeps_bold_italic_and_links() -> None:
    from folio_worker.engine.documents import build_outputs

    source = build_formatted_docx()
    book = parse_document(source, "formatted.docx")
    marked = book.blocks[1].text
    assert marked == (
        "Gregor woke one <i1>cold</i1> morning from <b2>uneasy</b2> dreams and read "
        "<a3>the letter</a3> twice."
    )
    translations = {
        1: "Gregor erwachte an einem <i1>kalten</i1> Morgen aus <b2>unruhigen</b2> Träumen "
        "und las <a3>den Brief</a3> zweimal.",
        2: "Sonst geschah an diesem Tag nichts.",
    }
    outputs = build_outputs(source, book, translations, target_language="de")
    assert set(outputs) == {"txt", "docx"}
    word = docx.Document(io.BytesIO(outputs["docx"]))
    paragraphs = [p for p in word.paragraphs if p.text]
    assert paragraphs[0].text == "Chapter One"  # untranslated blocks keep their source
    assert formatting(paragraphs[1]) == [
        ("Gregor erwachte an einem ", False, False, False),
        ("kalten", False, True, False),
        (" Morgen aus ", False, False, False),
        ("unruhigen", True, False, False),
        (" Träumen und las ", False, False, False),
        ("den Brief", False, False, True),
        (" zweimal.", False, False, False),
    ]
    link = paragraphs[1]._p.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}hyperlink"
    )
    rel = link.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    assert word.part.rels[rel].target_ref == "https://example.org/letter"
    assert paragraphs[2].text == "Sonst geschah an diesem Tag nichts."
    assert word.core_properties.language == "de"
    again = parse_document(outputs["docx"], "again.docx")
    assert again.blocks[1].text == translations[1]
    assert "<" not in outputs["txt"].decode()


def add_note_reference(paragraph, note: int) -> None:
    """A footnote reference run, as Word writes one (its own run, no text)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "FootnoteReference")
    rpr.append(style)
    run.append(rpr)
    reference = OxmlElement("w:footnoteReference")
    reference.set(qn("w:id"), str(note))
    run.append(reference)
    paragraph._p.append(run)


def build_noted_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Chapter One", level=1)
    first = document.add_paragraph("Gregor read the letter")
    add_note_reference(first, 1)
    first.add_run(" twice.").add_break()  # a line break inside the paragraph: w:br
    first.add_run("Then he slept.")
    second = document.add_paragraph("Grete waited at the door")
    add_note_reference(second, 2)
    second.add_run(" until dark.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def inline(paragraph) -> list[tuple[str, str]]:
    """The paragraph's text, line breaks and note references in document order."""
    from docx.oxml.ns import qn

    out: list[tuple[str, str]] = []
    for element in paragraph._p.iter(qn("w:t"), qn("w:br"), qn("w:footnoteReference")):
        if element.tag == qn("w:t"):
            if out and out[-1][0] == "text":  # adjacent runs read as one text
                out[-1] = ("text", out[-1][1] + (element.text or ""))
            else:
                out.append(("text", element.text or ""))
        elif element.tag == qn("w:br"):
            out.append(("br", element.get(qn("w:type")) or "textWrapping"))
        else:
            out.append(("note", element.get(qn("w:id"))))
    return out


def test_translated_docx_keeps_note_references_and_line_breaks_in_their_paragraphs() -> None:
    from folio_worker.engine.documents import build_outputs

    source = build_noted_docx()
    book = parse_document(source, "noted.docx")
    assert [b.text for b in book.blocks[1:]] == [
        "Gregor read the letter<x1/> twice.\nThen he slept.",
        "Grete waited at the door<x1/> until dark.",
    ]
    translations = {
        1: "Gregor las den Brief<x1/> zweimal.\nDann schlief er.",
        # the model moved the reference: it follows the words it now belongs to
        2: "Bis es dunkel wurde<x1/>, wartete Grete an der Tür.",
    }
    outputs = build_outputs(source, book, translations, target_language="de")
    word = docx.Document(io.BytesIO(outputs["docx"]))
    paragraphs = [p for p in word.paragraphs if p.text]
    assert [inline(p) for p in paragraphs[1:]] == [
        [
            ("text", "Gregor las den Brief"),
            ("note", "1"),
            ("text", " zweimal."),
            ("br", "textWrapping"),
            ("text", "Dann schlief er."),
        ],
        [("text", "Bis es dunkel wurde"), ("note", "2"), ("text", ", wartete Grete an der Tür.")],
    ]
    # the reference keeps its run's style (the superscript number)
    reference = paragraphs[2]._p.xpath(".//w:footnoteReference")[0].getparent()
    assert reference.xpath("./w:rPr/w:rStyle/@w:val") == ["FootnoteReference"]
    again = parse_document(outputs["docx"], "again.docx")
    assert [b.text for b in again.blocks[1:]] == [translations[1], translations[2]]


def test_a_note_reference_the_translation_lost_stays_in_its_paragraph() -> None:
    from folio_worker.engine.documents import build_outputs

    source = build_noted_docx()
    book = parse_document(source, "noted.docx")
    outputs = build_outputs(
        source,
        book,
        {1: "Gregor las den Brief zweimal.\nDann schlief er.", 2: "Grete wartete."},
        target_language="de",
    )
    paragraphs = [p for p in docx.Document(io.BytesIO(outputs["docx"])).paragraphs if p.text]
    assert [n for kind, n in inline(paragraphs[1]) if kind == "note"] == ["1"]
    assert [n for kind, n in inline(paragraphs[2]) if kind == "note"] == ["2"]
    assert ("br", "textWrapping") in inline(paragraphs[1])


def test_a_page_break_inside_a_paragraph_stays_a_page_break() -> None:
    from docx.enum.text import WD_BREAK

    from folio_worker.engine.documents import build_outputs

    document = docx.Document()
    document.add_heading("Chapter One", level=1)
    paragraph = document.add_paragraph("End of part one.")
    paragraph.runs[0].add_break(WD_BREAK.PAGE)  # in the run of the text before it
    paragraph.add_run("Part two").add_break()
    paragraph.add_run("begins.")
    document.add_paragraph("").add_run().add_break(WD_BREAK.PAGE)  # a break alone: no block
    out = io.BytesIO()
    document.save(out)
    source = out.getvalue()
    book = parse_document(source, "breaks.docx")
    assert [b.text for b in book.blocks] == [
        "Chapter One",
        "End of part one.<x1/>Part two\nbegins.",
    ]
    translations = {1: "Ende von Teil eins.<x1/>Teil zwei\nbeginnt."}
    outputs = build_outputs(source, book, translations, target_language="de")
    paragraphs = docx.Document(io.BytesIO(outputs["docx"])).paragraphs
    assert inline(paragraphs[1]) == [
        ("text", "Ende von Teil eins."),
        ("br", "page"),
        ("text", "Teil zwei"),
        ("br", "textWrapping"),
        ("text", "beginnt."),
    ]
    assert inline(paragraphs[2]) == [("br", "page")]  # the page-break paragraph is kept as is
    assert parse_document(outputs["docx"], "again.docx").blocks[1].text == translations[1]
