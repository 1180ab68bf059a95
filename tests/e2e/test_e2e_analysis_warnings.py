"""A part of the book whose analysis keeps failing is asked again, then reported on the job
through the gateway; the job still completes, with the fields the frontend reads as
docs/api-compatibility.md describes them."""

from __future__ import annotations

import uuid

from .conftest import book, submit, wait_for_job


async def test_a_failing_analysis_chunk_is_a_warning_on_the_completed_job(
    gateway, fake_llm, dev_token
):
    tag = uuid.uuid4().hex[:8]
    paragraphs = book(40, seed=f"-{tag}").split("\n\n")
    broken = f"broken-{tag}"
    paragraphs[30] += f" The clerk wrote {broken} in the ledger."
    text = "\n\n".join(paragraphs)
    # Every structured answer for a passage with the marker is cut short: the analysis of
    # its chunk never parses (translations are plain text, so they are unaffected).
    added = await fake_llm.post(
        "/_fake/faults", json={"source_contains": broken, "fault": "malformed-json"}
    )
    assert added.status_code == 200, added.text
    token = dev_token(f"warned-{tag}")
    try:
        job = await submit(gateway, token, "ledger.txt", text.encode(), target_language="ko")
        done = await wait_for_job(gateway, token, job["id"], timeout_s=120)
    finally:
        await fake_llm.delete("/_fake/faults")

    assert done["status"] == "COMPLETED", done
    # The owner's view: the warning, in words, beside the documented completion fields.
    warnings = [w for w in done["warnings"] if "could not be analysed" in w]
    assert len(warnings) == 1, done["warnings"]
    assert warnings[0].startswith("Part ") and "chapter 1" in warnings[0]
    assert "names, characters and style notes are missing" in warnings[0]
    assert done["progress"] == 100 and done["completed_at"]
    assert done["failed_segments"] == [] and done["failed_units"] == 0
    assert done["segment_failures"] == []
    assert done["translated_segments"] == done["total_segments"] > 0

    # The failed chunk was asked again (each answer retried by the client as well).
    rows = (await fake_llm.get("/_fake/requests")).json()
    rows = rows["requests"] if isinstance(rows, dict) else rows
    chunk_calls = [
        r for r in rows if r.get("schema_name") == "ChunkAnalysis" and broken in r["prompt"]
    ]
    assert len(chunk_calls) >= 2
    assert all(r["outcome"] == "malformed-json" for r in chunk_calls)

    # The token-less poll (the frontend's) is a status view: no warnings, no file name.
    polled = (await gateway.get(f"/api/v1/jobs/{job['id']}")).json()
    assert polled["status"] == "COMPLETED" and polled["progress"] == 100
    assert "warnings" not in polled and "filename" not in polled
