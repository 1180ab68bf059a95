"""A model that keeps merging paragraphs never leaves a block empty or puts a paragraph into
a heading, in any output (through the services, fake LLM)."""

from __future__ import annotations

import json
import uuid

import pytest

from folio_devstack import books
from folio_worker.engine.documents import parse_document
from folio_worker.engine.languages import script_profile

from .conftest import wait_for_job

MARKER = "[[fake:merge-paragraphs]]"


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


@pytest.mark.parametrize("fmt", ["epub", "txt"])
async def test_a_unit_that_keeps_merging_paragraphs_leaves_no_block_empty(
    gateway, fake_llm, dev_token, fmt
):
    tag = uuid.uuid4().hex[:8]
    book = chapters(tag)
    body = books.make_epub(book) if fmt == "epub" else books.make_text(book)
    token = dev_token(f"merging-{fmt}")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        data={"bilingual": "true"},
        files={"file": (f"merging.{fmt}", body, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gateway, token, response.json()["id"], timeout_s=120)
    assert done["status"] == "COMPLETED", done

    log = (await fake_llm.get("/_fake/requests")).json()
    assert any(r["outcome"] == "merge-paragraphs" and tag in r["prompt"] for r in log)

    source = [text for title, paragraphs in book for text in (title, *paragraphs)]
    text = (
        await gateway.get(
            f"/api/v1/download/{done['id']}", params={"format": "txt"}, headers=headers
        )
    ).text
    blocks = [b for chapter in text.strip().split("\n\n\n") for b in chapter.split("\n\n")]
    assert len(blocks) == len(source) and all(hangul(b) > 0.9 for b in blocks)

    rows = json.loads(
        (
            await gateway.get(
                f"/api/v1/download/{done['id']}", params={"format": "segments"}, headers=headers
            )
        ).content
    )
    assert all(r["translated_text"].count("\n\n") == r["source_text"].count("\n\n") for r in rows)

    if fmt == "epub":
        epub = await gateway.get(
            f"/api/v1/download/{done['id']}", params={"format": "epub"}, headers=headers
        )
        translated = parse_document(epub.content, "merging.epub")
        kinds = [b.kind for b in translated.blocks]
        assert kinds == [
            "heading",
            *["paragraph"] * 4,
            "heading",
            *["paragraph"] * 2,
        ]
        assert all(b.text.strip() and hangul(b.text) > 0.9 for b in translated.blocks)
        # headings hold the translation of their own short title, no paragraph
        headings = [b.text for b in translated.blocks if b.kind == "heading"]
        assert all(len(h) < 12 for h in headings), headings
