"""The slice end to end: gateway -> translation-service -> RabbitMQ -> worker-service ->
fake LLM over HTTP -> RabbitMQ -> translation-service -> gateway, all as real processes."""

from __future__ import annotations

from itertools import pairwise

from folio_devstack.follow import job_updates
from folio_fakellm.pseudo import pseudo_translate

from .conftest import book, submit, wait_for_job


async def test_a_book_is_translated_completely_and_in_order(gateway, fake_llm, dev_token):
    token = dev_token("reader-1")
    text = book(paragraphs=12, words=80)
    job = await submit(gateway, token, "novel.txt", text.encode(), segment_size=1000)
    assert job["status"] == "PENDING"

    done = await wait_for_job(gateway, token, job["id"])
    assert done["status"] == "COMPLETED", done
    assert done["progress"] == 100
    assert done["total_segments"] >= 4  # small segments: several work messages
    assert done["translated_segments"] == done["total_segments"]
    # One call per unit (here one per segment) plus the analysis pass.
    assert done["usage"]["calls"] > done["total_segments"]
    assert done["usage"]["input_tokens"] > 0 and done["usage"]["output_tokens"] > 0
    assert done["estimate"]["translation"]["calls"] >= done["total_segments"]

    download = await gateway.get(
        f"/api/v1/download/{job['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert download.status_code == 200
    assert 'filename="novel_translated.txt"' in download.headers["content-disposition"]
    # The fake model's pseudo-translation is deterministic and keeps paragraphs apart, so
    # the expected book is each source paragraph translated, in the original order.
    expected = "\n\n".join(pseudo_translate(p, "Korean") for p in text.split("\n\n")) + "\n"
    assert download.text == expected


async def test_an_unreadable_book_fails_with_a_reason(gateway, dev_token):
    token = dev_token("reader-2")
    job = await submit(gateway, token, "broken.txt", bytes(range(256)) * 20)
    done = await wait_for_job(gateway, token, job["id"])
    assert done["status"] == "FAILED"
    assert done["error_message"] == "The file is named .txt but is not a text file."


async def test_the_progress_stream_follows_a_job_to_its_end(gateway, dev_token):
    token = dev_token("reader-3")
    headers = {"Authorization": f"Bearer {token}"}
    text = book(paragraphs=12, words=80, seed="-stream")
    job = await submit(gateway, token, "stream.txt", text.encode(), segment_size=1000)
    updates = [update async for update in job_updates(gateway, job["id"], headers)]

    assert updates[0]["status"] in ("PENDING", "PROCESSING")
    assert updates[-1]["status"] == "COMPLETED" and updates[-1]["progress"] == 100
    progress = [u["progress"] for u in updates]
    assert progress == sorted(progress)  # never backwards
    assert all(a != b for a, b in pairwise(updates))  # only changes are sent
    final = await gateway.get(f"/api/v1/jobs/{job['id']}", headers=headers)
    assert updates[-1] == final.json()

    stranger = {"Authorization": f"Bearer {dev_token('someone-else')}"}
    refused = await gateway.get(f"/api/v1/jobs/{job['id']}/events", headers=stranger)
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
