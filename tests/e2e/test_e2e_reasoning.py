"""A reasoning model behind an OpenAI-compatible local server, through a whole job.

vLLM without a reasoning parser (the fake's ``vllm`` flavour) writes the model's chain of
thought into the content as ``<think>…</think>`` before the answer, and counts it inside
``completion_tokens``. The fake's chain of thought quotes the source in English, so a
book that kept any of it would show it. Every call of the job, analysis included, goes to
that server with the user's own key.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from collections import Counter

import asyncpg
import httpx

from folio_devstack import books

from .conftest import wait_for_job

MODEL = "deepseek-r1-distill-qwen-7b"  # a reasoning model's name: the fake thinks aloud
PREAMBLE = "the user wants this passage"  # the fake's chain of thought starts so


def chapters(tag: str) -> list[tuple[str, list[str]]]:
    sentences = [
        "Gregor Samsa woke one morning from uneasy dreams and lay on his back.",
        "Grete knocked at the door and asked whether he was well.",
        "The clerk from the office waited in the hall for an answer.",
        "Rain fell on the window while his mother called his name.",
    ]
    return [
        (f"Chapter {c}", [f"{tag} {c}.{i}: {s}" for i, s in enumerate(sentences)]) for c in (1, 2)
    ]


def leftovers(text: str) -> list[str]:
    """What of a chain of thought is still in ``text``."""
    lowered = text.lower()
    return [t for t in ("<think", "think>", "&lt;think", PREAMBLE) if t in lowered]


async def test_a_reasoning_model_never_reaches_the_book_and_is_billed_once(
    stack, gateway, dev_token, test_database
):
    tag = f"reason{uuid.uuid4().hex[:8]}"
    key = f"sk-local-{uuid.uuid4().hex}"
    token = dev_token(f"reasoner-{uuid.uuid4().hex[:6]}")
    headers = {"Authorization": f"Bearer {token}"}
    response = await gateway.post(
        "/api/v1/jobs",
        headers=headers,
        files={"file": ("book.epub", books.make_epub(chapters(tag)), "application/epub+zip")},
        data={
            "target_language": "ko",
            "segment_size": "1000",
            "api_provider": "openai",
            "api_base_url": stack.config.url("fake-llm") + "/flavour/vllm/v1",
            "model_name": MODEL,
            "api_key": key,
        },
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gateway, token, response.json()["id"], timeout_s=180)
    assert done["status"] == "COMPLETED", done

    async with httpx.AsyncClient(base_url=stack.config.url("fake-llm")) as fake:
        log = (await fake.get("/_fake/requests")).json()
    log = log["requests"] if isinstance(log, dict) else log
    billed = [r for r in log if r["key_hash"] == hashlib.sha256(key.encode()).hexdigest()[:12]]
    assert {r["model"] for r in billed} == {MODEL}
    assert any(r["structured"] for r in billed) and any(not r["structured"] for r in billed)
    assert all(r["thought_tokens"] > 0 for r in billed if r["outcome"] == "ok")

    # no chain of thought in any output
    async def download(fmt: str) -> bytes:
        got = await gateway.get(
            f"/api/v1/download/{done['id']}", params={"format": fmt}, headers=headers
        )
        assert got.status_code == 200, got.text
        return got.content

    rows = json.loads(await download("segments"))
    assert len(rows) == done["total_segments"] >= 2
    for row in rows:
        assert row["translated_text"] and not leftovers(row["translated_text"]), row
    txt = (await download("txt")).decode("utf-8-sig")
    assert txt.strip() and not leftovers(txt)
    with zipfile.ZipFile(io.BytesIO(await download("epub"))) as epub:
        pages = [
            epub.read(name).decode()
            for name in epub.namelist()
            if name.endswith((".xhtml", ".html", ".htm"))
        ]
    assert pages and not [p for p in pages if leftovers(p)]
    assert re.search(r"[\uac00-\ud7a3]", "".join(pages))  # the translation itself is there

    # usage: what the server billed, call by call (reasoning inside completion_tokens, once)
    conn = await asyncpg.connect(test_database.url("translation").replace("+asyncpg", ""))
    try:
        recorded = await conn.fetch(
            "SELECT input_tokens, output_tokens, thinking_tokens FROM usage_records "
            "WHERE job_id = $1 AND NOT cached",
            done["id"],
        )
    finally:
        await conn.close()
    server = Counter(
        (r["prompt_tokens"], r["completion_tokens"] + r["thought_tokens"]) for r in billed
    )
    job = Counter((r["input_tokens"], r["output_tokens"] + r["thinking_tokens"]) for r in recorded)
    assert job == server
    usage = done["usage"]
    assert usage["input_tokens"] == sum(r["prompt_tokens"] for r in billed)
    assert usage["output_tokens"] + usage["thinking_tokens"] == sum(
        r["completion_tokens"] + r["thought_tokens"] for r in billed
    )
    assert usage["thinking_tokens"] > 0  # the reasoning is attributed, not hidden in output
