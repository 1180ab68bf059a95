"""A model that keeps merging paragraphs never leaves a block empty or puts a paragraph into
a heading, in any output (through the services, fake LLM)."""

from __future__ import annotations

import io
import json
import re
import uuid

import pypdf
import pytest

from folio_devstack import books
from folio_worker.engine.documents import parse_document
from folio_worker.engine.languages import script_profile

from .conftest import wait_for_job

MARKER = "[[fake:merge-paragraphs]]"
BUILDERS = {
    "epub": books.make_epub,
    "txt": books.make_text,
    "md": books.make_markdown,
    "docx": books.make_docx,
}
KINDS = ["heading", *["paragraph"] * 4, "heading", *["paragraph"] * 2]


def chapters(tag: str) -> list[tuple[str, list[str]]]:
    return [
        (
            "Chapter 1",
            [
                f"Gregor Samsa woke one morning {MARKER} from uneasy dreams ({tag}).",
                "His room, a proper human room, lay quietly between its four walls.",
                "Grete, his sister, knocked at the door and asked whether he was well.",
                "The chief clerk waited in the hall below and tapped his cane.",
            ],
        ),
        (
            "Chapter 2",
            [
                "It was evening before Gregor awoke from his deep and heavy sleep.",
                "Grete came in with a bowl of fresh milk and set it down by the door.",
            ],
        ),
    ]


def hangul(text: str) -> float:
    profile = script_profile(text)
    return profile["hangul"] / max(1, sum(profile.values()))


def text_blocks(text: str) -> list[str]:
    """The blocks of a text output: chapters apart by two blank lines, blocks by one."""
    return [b for chapter in text.strip().split("\n\n\n") for b in chapter.split("\n\n")]


def assert_rebuilt(content: bytes, name: str) -> None:
    """A rebuilt EPUB/DOCX has the source's blocks, each holding its own translation."""
    translated = parse_document(content, name)
    assert [b.kind for b in translated.blocks] == KINDS
    assert all(b.text.strip() and hangul(b.text) > 0.9 for b in translated.blocks)
    # headings hold the translation of their own short title, no paragraph
    headings = [b.text for b in translated.blocks if b.kind == "heading"]
    assert all(len(h) < 12 for h in headings), headings


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("fmt", list(BUILDERS))
async def test_a_unit_that_keeps_merging_paragraphs_leaves_no_block_empty(
    gateway, fake_llm, dev_token, fmt
):
    tag = uuid.uuid4().hex[:8]
    book = chapters(tag)
    token = dev_token(f"merging-{fmt}")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        data={"bilingual": "true"},
        files={"file": (f"merging.{fmt}", BUILDERS[fmt](book), "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gateway, token, response.json()["id"], timeout_s=120)
    assert done["status"] == "COMPLETED", done

    log = (await fake_llm.get("/_fake/requests")).json()
    assert any(r["outcome"] == "merge-paragraphs" and tag in r["prompt"] for r in log)

    async def download(kind: str) -> bytes:
        answer = await gateway.get(
            f"/api/v1/download/{done['id']}", params={"format": kind}, headers=headers
        )
        assert answer.status_code == 200, (kind, answer.text)
        return answer.content

    source = [text for title, paragraphs in book for text in (title, *paragraphs)]
    blocks = text_blocks((await download("txt")).decode())
    assert len(blocks) == len(source) and all(hangul(b) > 0.9 for b in blocks)

    # Bilingual: every block is its source line followed by its own translation.
    pairs = [b.split("\n") for b in text_blocks((await download("bilingual_txt")).decode())]
    assert [p[0] for p in pairs] == source
    assert all(len(p) == 2 and hangul(p[1]) > 0.9 for p in pairs), pairs

    rows = json.loads(await download("segments"))
    assert all(r["translated_text"].count("\n\n") == r["source_text"].count("\n\n") for r in rows)
    translations = [p for r in rows for p in r["translated_text"].split("\n\n")]
    assert len(translations) == len(source) and all(t.strip() for t in translations)

    # The PDF's body is every block's translation in order, and nothing else.
    pdf = await gateway.get(
        f"/api/v1/jobs/{done['id']}/pdf", params={"include_source": "false"}, headers=headers
    )
    assert pdf.status_code == 200, pdf.text
    pages = pypdf.PdfReader(io.BytesIO(pdf.content)).pages
    body = squeezed("".join(page.extract_text() for page in pages[1:]))  # after the title page
    assert body == "".join(squeezed(t) for t in translations)

    if fmt == "epub":
        assert_rebuilt(await download("epub"), "merging.epub")
        both = parse_document(await download("bilingual_epub"), "bilingual.epub")
        texts = [b.text for b in both.blocks if b.text.strip()]
        # each source block is followed by its translation: no translation left out
        assert len(texts) == 2 * len(source), texts
        assert all(hangul(t) > 0.9 for t in texts[1::2]), texts
        assert all(hangul(t) < 0.1 for t in texts[::2]), texts
    if fmt == "docx":
        assert_rebuilt(await download("docx"), "merging.docx")
