"""One bad passage never sinks a book: it is marked in every output and listed on the job,
it can be re-run alone, and a failed job resumes. Real services; the fake model is told to
fail one passage (``POST /_fake/faults``) however often it is asked, until told otherwise.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid

import httpx
import pypdf
import pytest

from folio_devstack import books
from folio_devstack.pytest_plugin import stack_config
from folio_devstack.stack import Stack
from folio_worker.engine.documents import parse_document

from .conftest import submit, wait_for_job

MARK = "[untranslated]"


@pytest.fixture(scope="module")
async def failure_stack(folio_infra, database_factory, module_amqp_url, tmp_path_factory):
    database = await database_factory()
    config = stack_config(
        tmp_path_factory.mktemp("failure-stack"),
        database,
        module_amqp_url,
        folio_infra,
        fake_llm_env={"FAKE_LLM_LATENCY_BASE_MS": "10"},
        service_env={
            "worker-service": {
                # Several units per segment, so one unit fails while its neighbours pass.
                "FOLIO_UNIT_SIZE": "400",
                "FOLIO_ANSWER_ATTEMPTS": "3",
                "FOLIO_LLM_TIMEOUT_S": "5",
                "FOLIO_LLM_MAX_ATTEMPTS": "3",
            },
        },
    )
    stack = Stack(config)
    try:
        await stack.start()
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


@pytest.fixture
async def gw(failure_stack):
    async with httpx.AsyncClient(
        base_url=failure_stack.config.url("gateway"), timeout=60
    ) as client:
        yield client


@pytest.fixture
async def fake(failure_stack):
    async with httpx.AsyncClient(
        base_url=failure_stack.config.url("fake-llm"), timeout=30
    ) as client:
        yield client
        await client.delete("/_fake/faults")


def paragraphs(tag: str, count: int) -> list[str]:
    return [
        f"{tag} paragraph {p}. Gregor looked at Grete while the rain fell on the window, "
        f"and the clerk waited in the hall for an answer that did not come."
        for p in range(count)
    ]


async def fail_passage(fake: httpx.AsyncClient, needle: str, fault: str = "echo") -> None:
    response = await fake.post("/_fake/faults", json={"source_contains": needle, "fault": fault})
    response.raise_for_status()


async def asked(fake: httpx.AsyncClient, needle: str) -> int:
    """Translation requests whose text to translate contains ``needle``."""
    count = 0
    for row in (await fake.get("/_fake/requests")).json():
        prompt = row["prompt"]
        start, end = prompt.rfind("<source>"), prompt.rfind("</source>")
        if not row["structured"] and start >= 0 and needle in prompt[start:end]:
            count += 1
    return count


def sse_events(text: str) -> list[tuple[str, dict]]:
    """(kind, data) of each event of a whole stream's body."""
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def download(gw: httpx.AsyncClient, token: str, job_id: int, fmt: str) -> bytes:
    response = await gw.get(
        f"/api/v1/download/{job_id}", params={"format": fmt}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    return response.content


async def test_a_passage_that_always_fails_is_marked_everywhere_and_the_book_completes(
    gw, fake, dev_token
):
    tag = f"marked{uuid.uuid4().hex[:8]}"
    texts = paragraphs(tag, 14)
    doomed = texts[7]
    await fail_passage(fake, f"{tag} paragraph 7.")
    token = dev_token("partial-reader")
    job = await submit(
        gw, token, "marked.txt", "\n\n".join(texts).encode(), segment_size=1000, bilingual="true"
    )
    done = await wait_for_job(gw, token, job["id"], timeout_s=120)

    assert done["status"] == "COMPLETED", done
    assert done["total_segments"] >= 2
    (failure,) = done["segment_failures"]
    assert done["failed_segments"] == [failure["segment_index"]]
    (unit,) = failure["units"]
    assert unit["check"] == "untranslated" and unit["attempts"] == 3 and unit["reason"]
    # Bounded: three answers for the passage, none more.
    assert await asked(fake, f"{tag} paragraph 7.") == 3

    # The job list and the event stream say so too (what the frontend and the CLI show).
    (row,) = (await gw.get("/api/v1/jobs", headers=auth(token))).json()
    assert row["failed_segments"] == done["failed_segments"] and row["failed_units"] == 1
    # ... and the GraphQL read API.
    graphql = await gw.post(
        "/api/v1/graphql",
        headers=auth(token),
        json={
            "query": "query($id: Long!) { job(id: $id) { failedSegments failedUnits } }",
            "variables": {"id": job["id"]},
        },
    )
    assert graphql.json()["data"]["job"] == {
        "failedSegments": done["failed_segments"],
        "failedUnits": 1,
    }
    stream = await gw.get(
        f"/api/v1/jobs/{job['id']}/events", headers={**auth(token), "Last-Event-ID": "0"}
    )
    events = sse_events(stream.text)
    marked = {d["segment_index"]: d["failed_units"] for kind, d in events if kind == "segment"}
    assert len(marked) == done["total_segments"]
    assert {i for i, n in marked.items() if n} == set(done["failed_segments"])
    assert events[-1][0] == "job" and events[-1][1]["failed_segments"] == done["failed_segments"]

    page = (await gw.get(f"/api/v1/jobs/{job['id']}/segments", headers=auth(token))).json()
    flagged = [s for s in page["segments"] if s["failed"]]
    assert [s["segment_index"] for s in flagged] == done["failed_segments"]
    assert f"{MARK} {doomed}" in flagged[0]["translated_text"]
    assert flagged[0]["unit_failures"][0]["check"] == "untranslated"

    translated = (await download(gw, token, job["id"], "txt")).decode()
    assert f"{MARK} {doomed}" in translated
    # Only the failed unit (this paragraph and, in a unit of two, its neighbour) is kept
    # in the source, marked; every other paragraph is translated.
    kept = [i for i, text in enumerate(texts) if f"{MARK} {text}" in translated]
    assert 7 in kept and len(kept) <= 2 and kept == list(range(kept[0], kept[-1] + 1))
    assert translated.count(MARK) == len(kept)
    for i, text in enumerate(texts):
        assert i in kept or text not in translated
    bilingual = (await download(gw, token, job["id"], "bilingual_txt")).decode()
    assert f"{MARK} {doomed}" in bilingual
    segments = json.loads(await download(gw, token, job["id"], "segments"))
    assert [s["segment_index"] for s in segments if s["failed"]] == done["failed_segments"]
    assert any(f"{MARK} {doomed}" in (s["translated_text"] or "") for s in segments)
    pdf = await gw.get(f"/api/v1/jobs/{job['id']}/pdf", headers=auth(token))
    assert pdf.status_code == 200
    pdf_text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert MARK in pdf_text


async def test_an_epub_keeps_the_failed_passage_marked_in_place(gw, fake, dev_token):
    tag = f"epub{uuid.uuid4().hex[:8]}"
    chapters = [("Chapter 1", paragraphs(tag, 4)), ("Chapter 2", paragraphs(tag + "b", 3))]
    doomed = chapters[0][1][2]
    await fail_passage(fake, f"{tag} paragraph 2.", "block-prompt")
    token = dev_token("partial-epub-reader")
    response = await gw.post(
        "/api/v1/jobs",
        headers=auth(token),
        files={"file": ("book.epub", books.make_epub(chapters, title="T"), "application/epub+zip")},
        # With the analysis: its single chunk (the whole small book) is blocked too, and the
        # book is still translated, without the analysed context.
        data={"segment_size": "1000"},
    )
    assert response.status_code == 200, response.text
    done = await wait_for_job(gw, token, response.json()["id"], timeout_s=120)
    assert done["status"] == "COMPLETED", (done["error_message"], done["status_detail"])
    assert done["segment_failures"][0]["units"][0]["check"] == "safety"
    epub = parse_document(await download(gw, token, done["id"], "epub"), "translated.epub")
    texts = [block.text for block in epub.blocks]
    assert f"{MARK} {doomed}" in texts
    assert 1 <= sum(MARK in t for t in texts) <= 2  # its unit only


async def requests_since(fake: httpx.AsyncClient, tag: str, offset: int) -> list[str]:
    """Texts to translate of the translation requests about ``tag`` after the first
    ``offset`` logged requests."""
    rows = (await fake.get("/_fake/requests", params={"offset": offset})).json()
    sources = []
    for row in rows:
        prompt = row["prompt"]
        start, end = prompt.rfind("<source>"), prompt.rfind("</source>")
        if not row["structured"] and start >= 0 and tag in prompt[start:end]:
            sources.append(prompt[start + len("<source>") : end])
    return sources


async def logged(fake: httpx.AsyncClient) -> int:
    return len((await fake.get("/_fake/requests")).json())


async def test_retranslating_the_failed_segment_fixes_it_and_pays_only_for_it(gw, fake, dev_token):
    tag = f"rerun{uuid.uuid4().hex[:8]}"
    texts = paragraphs(tag, 14)
    await fail_passage(fake, f"{tag} paragraph 9.")
    token = dev_token("rerun-reader")
    job = await submit(gw, token, "rerun.txt", "\n\n".join(texts).encode(), segment_size=1000)
    done = await wait_for_job(gw, token, job["id"], timeout_s=120)
    assert done["status"] == "COMPLETED" and len(done["failed_segments"]) == 1
    (index,) = done["failed_segments"]
    calls_before = done["usage"]["calls"]

    assert (await fake.delete("/_fake/faults")).status_code == 200  # the model recovers
    offset = await logged(fake)
    response = await gw.post(
        f"/api/v1/jobs/{job['id']}/segments/retranslate",
        headers=auth(token),
        json={"filter": "failed"},
    )
    assert response.status_code == 202, response.text
    assert response.json()["segment_indices"] == [index]
    again = await wait_for_job(gw, token, job["id"], timeout_s=120)

    assert again["status"] == "COMPLETED", again
    assert again["failed_segments"] == [] and again["segment_failures"] == []
    translated = (await download(gw, token, job["id"], "txt")).decode()
    assert MARK not in translated and texts[9] not in translated
    # One call: the marked unit. The segment's other units come from the response cache,
    # the other segments are not sent at all.
    sent = await requests_since(fake, tag, offset)
    assert len(sent) == 1 and f"{tag} paragraph 9." in sent[0]
    assert again["usage"]["calls"] == calls_before + 1
    page = (await gw.get(f"/api/v1/jobs/{job['id']}/segments", headers=auth(token))).json()
    assert not any(s["failed"] for s in page["segments"])


async def test_a_failed_job_resumes_to_completed_without_paying_twice(gw, fake, dev_token):
    tag = f"resume{uuid.uuid4().hex[:8]}"
    texts = paragraphs(tag, 14)
    # The provider itself fails on this passage (every attempt): not the passage's fault,
    # so the job fails instead of marking it.
    await fail_passage(fake, f"{tag} paragraph 6.", "500")
    token = dev_token("resume-reader")
    job = await submit(
        gw, token, "resume.txt", "\n\n".join(texts).encode(), segment_size=1000, turbo_mode="true"
    )
    failed = await wait_for_job(gw, token, job["id"], timeout_s=120)
    assert failed["status"] == "FAILED" and "kept failing" in failed["error_message"]

    async def finished() -> set[str]:
        page = (await gw.get(f"/api/v1/jobs/{job['id']}/segments", headers=auth(token))).json()
        return {s["source_text"] for s in page["segments"] if s["status"] == "TRANSLATED"}

    # Segments still in flight when it failed are stored as they arrive.
    for _ in range(100):
        done_before = await finished()
        page = (await gw.get(f"/api/v1/jobs/{job['id']}/segments", headers=auth(token))).json()
        if not any(s["status"] == "DISPATCHED" for s in page["segments"]):
            break
        await asyncio.sleep(0.2)
    assert done_before

    await fake.delete("/_fake/faults")
    offset = await logged(fake)
    resumed = await gw.post(f"/api/v1/jobs/{job['id']}/resume", headers=auth(token))
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "PROCESSING"
    done = await wait_for_job(gw, token, job["id"], timeout_s=120)

    assert done["status"] == "COMPLETED", done
    assert done["error_message"] is None and done["failed_segments"] == []
    translated = (await download(gw, token, job["id"], "txt")).decode()
    assert all(text not in translated for text in texts)
    sent = await requests_since(fake, tag, offset)
    assert any(f"{tag} paragraph 6." in source for source in sent)
    for source in sent:  # nothing already translated is asked again
        assert not any(source.strip() in finished_text for finished_text in done_before)
