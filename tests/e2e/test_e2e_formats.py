"""A book in every input format, translated end to end through the running services."""

from __future__ import annotations

import json

import pytest

from folio_devstack import books
from folio_worker.engine.documents import parse_document
from folio_worker.engine.languages import script_profile

from .conftest import wait_for_job

CHAPTERS = [
    (
        "Chapter 1",
        [
            "Gregor Samsa woke one morning from uneasy dreams. He lay on his back and looked up.",
            "His room, a proper human room, lay quietly between its four familiar walls.",
            "Grete, his sister, knocked at the door and asked whether he was well.",
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
MEDIA = {
    "txt": "text/plain",
    "md": "text/markdown",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "epub": "application/epub+zip",
    "pdf": "application/pdf",
}
BUILDERS = {
    "txt": lambda: books.make_text(CHAPTERS, bom=True),
    "md": lambda: books.make_markdown(CHAPTERS),
    "docx": lambda: books.make_docx(CHAPTERS),
    "epub": lambda: books.make_epub(CHAPTERS, title="The Test", author="Ann Author"),
    "pdf": lambda: books.make_pdf(CHAPTERS),
}


def hangul_share(text: str) -> float:
    profile = script_profile(text)
    letters = sum(profile.values())
    return profile["hangul"] / letters if letters else 0.0


@pytest.mark.parametrize("fmt", list(BUILDERS))
async def test_every_format_is_translated_with_its_chapters(gateway, dev_token, fmt):
    token = dev_token(f"format-{fmt}")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        files={"file": (f"book.{fmt}", BUILDERS[fmt](), MEDIA[fmt])},
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gateway, token, response.json()["id"])
    assert done["status"] == "COMPLETED", done
    assert done["document"]["format"] == fmt
    assert done["document"]["chapters"] == ["Chapter 1", "Chapter 2"]

    segments = await gateway.get(
        f"/api/v1/download/{done['id']}", params={"format": "segments"}, headers=headers
    )
    rows = json.loads(segments.content)
    assert [r["chapter_title"] for r in rows] == ["Chapter 1", "Chapter 2"]  # never mixed
    assert all(hangul_share(r["translated_text"]) > 0.9 for r in rows)

    default = await gateway.get(f"/api/v1/download/{done['id']}", headers=headers)
    assert default.status_code == 200
    if fmt != "epub":
        assert default.headers["content-type"].startswith("text/plain")
        assert hangul_share(default.text) > 0.9
        assert "\n\n\n" in default.text  # chapters stay apart
        return
    assert default.headers["content-type"] == "application/epub+zip"
    assert 'filename="book_translated.epub"' in default.headers["content-disposition"]
    translated = parse_document(default.content, "translated.epub")
    assert len(translated.chapters) == 2
    assert translated.language == "ko"
    assert translated.authors == ("Ann Author",)
    assert len(translated.blocks) == sum(1 + len(p) for _, p in CHAPTERS)
    assert all(hangul_share(b.text) > 0.9 for b in translated.blocks)


async def test_bilingual_outputs_on_request(gateway, dev_token):
    token = dev_token("bilingual-reader")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        data={"bilingual": "true"},
        files={"file": ("book.epub", BUILDERS["epub"](), MEDIA["epub"])},
    )
    done = await wait_for_job(gateway, token, response.json()["id"])
    assert set(done["outputs"]) >= {
        "txt",
        "bilingual_txt",
        "epub",
        "bilingual_epub",
        "segments",
        "glossary",
    }
    text = (
        await gateway.get(
            f"/api/v1/download/{done['id']}", params={"format": "bilingual_txt"}, headers=headers
        )
    ).text
    assert "Gregor Samsa woke one morning" in text  # the source is there
    assert hangul_share(text) > 0.2  # and so is the translation
    epub = await gateway.get(
        f"/api/v1/download/{done['id']}", params={"format": "bilingual_epub"}, headers=headers
    )
    both = parse_document(epub.content, "bilingual.epub")
    assert len(both.chapters) == 2
    texts = [b.text for b in both.blocks]
    assert (
        "Gregor Samsa woke one morning from uneasy dreams. He lay on his back and looked up."
        in texts
    )


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("broken.epub", b"PK\x03\x04 not really a zip", "EPUB"),
        ("empty.docx", b"", None),  # refused at upload: empty
        ("scan.pdf", b"%PDF-1.4\n%%EOF", "PDF"),
    ],
)
async def test_unusable_books_fail_with_a_reason(gateway, dev_token, name, body, reason):
    token = dev_token("broken-books")
    response = await gateway.post(
        "/api/v1/jobs",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": (name, body, "application/octet-stream")},
    )
    if reason is None:
        assert response.status_code == 422
        assert response.json()["detail"] == "The uploaded file is empty."
        return
    done = await wait_for_job(gateway, token, response.json()["id"])
    assert done["status"] == "FAILED"
    assert reason in done["error_message"] or "corrupt" in done["error_message"].lower()
