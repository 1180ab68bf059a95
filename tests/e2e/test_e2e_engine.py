"""The engine through the running services: faults, consistency, modes, keys, caps, crashes.

These tests run their own stack (a worker with short model timeouts, a fake model with a
little latency) so that faults are quick and segments overlap in time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import uuid

import asyncpg
import httpx
import pytest

from folio_devstack.pytest_plugin import stack_config
from folio_devstack.stack import Stack

from .conftest import submit, wait_for_job

SOURCE_BLOCK = re.compile(r"<source>\n?(.*?)\n?</source>", re.S)


@pytest.fixture(scope="module")
async def engine_stack(folio_infra, database_factory, module_amqp_url, tmp_path_factory):
    database = await database_factory()
    config = stack_config(
        tmp_path_factory.mktemp("engine-stack"),
        database,
        module_amqp_url,
        folio_infra,
        fake_llm_env={
            "FAKE_LLM_LATENCY_BASE_MS": "20",
            "FAKE_LLM_RETRY_AFTER_S": "0.2",
            # These tests count calls and tokens against estimates; answers with broken
            # paragraph ids (asked again, unestimated) are tested in test_e2e_paragraphs.
            "FAKE_LLM_LAYOUT_FAULT_RATE": "0",
        },
        service_env={
            "worker-service": {
                "FOLIO_LLM_TIMEOUT_S": "1.5",
                "FOLIO_LLM_MAX_ATTEMPTS": "4",
                # One unit per small book (the operator's override of the plan's one-wave
                # units): a fault marker in a paragraph then meets only that paragraph's
                # own call, not a neighbour's call that shows it as context.
                "FOLIO_UNIT_SIZE": "2500",
            },
        },
    )
    stack = Stack(config)
    try:
        await stack.start()
        yield stack, database
    finally:
        await asyncio.to_thread(stack.stop)


@pytest.fixture
async def gw(engine_stack):
    stack, _ = engine_stack
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=60) as client:
        yield client


async def fake_requests(stack: Stack, tag: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=stack.config.url("fake-llm")) as client:
        data = (await client.get("/_fake/requests")).json()
    rows = data["requests"] if isinstance(data, dict) else data
    return [r for r in rows if tag in r["prompt"]]


def source_of(prompt: str) -> str:
    """The text a prompt asks to translate, without its paragraph ids."""
    blocks = SOURCE_BLOCK.findall(prompt)
    return re.sub(r"</?p(?: id=\"\d+\")?>", "", blocks[-1]) if blocks else ""


def novel(tag: str, paragraphs: int, *, marker_at: int | None = None, marker: str = "") -> str:
    out = []
    for p in range(paragraphs):
        line = (
            f"{tag} paragraph {p}. Gregor looked at Grete while the rain fell on the window, "
            f"and the clerk waited in the hall for an answer that did not come."
        )
        if p == marker_at:
            line += f" {marker}"
        out.append(line)
    return "\n\n".join(out)


# ---- provider faults ------------------------------------------------------------------


async def usage_outcomes(database, job_id: int) -> list[str]:
    conn = await asyncpg.connect(database.url("translation").replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT outcome FROM usage_records WHERE job_id = $1", job_id)
    finally:
        await conn.close()
    return [r["outcome"] for r in rows]


@pytest.mark.parametrize(
    ("marker", "recorded"),
    [
        ("[[fake:429:retry=0.2*2]]", "429"),
        ("[[fake:500*2]]", "5xx"),
        ("[[fake:slow=3*1]]", "timeout"),  # longer than the worker's 1.5 s timeout
        ("[[fake:block-prompt*1]]", "safety_prompt"),
        ("[[fake:block-candidate*1]]", "safety_candidate"),
        ("[[fake:truncate*1]]", "length"),
        ("[[fake:empty*1]]", "ok"),  # answered, but empty: the engine's check asks again
        ("[[fake:echo*1]]", "ok"),  # answered, but untranslated: asked again
    ],
)
async def test_translation_faults_are_recovered_without_touching_the_source(
    engine_stack, gw, dev_token, marker, recorded
):
    stack, database = engine_stack
    tag = f"fault{uuid.uuid4().hex[:8]}"
    text = novel(tag, 6, marker_at=3, marker=marker)
    token = dev_token("fault-tester")
    # Translation only (turbo), so the fault meets a translation call, not the analysis.
    job = await submit(gw, token, "faulty.txt", text.encode(), segment_size=1000, turbo_mode="true")
    done = await wait_for_job(gw, token, job["id"], timeout_s=90)
    assert done["status"] == "COMPLETED", done
    assert recorded in await usage_outcomes(database, job["id"])
    faulty_paragraph = text.split("\n\n")[3]
    sent = [
        r
        for r in await fake_requests(stack, tag)
        if not r["structured"] and faulty_paragraph[:60] in source_of(r["prompt"])
    ]
    if "slow" not in marker:  # a request the worker gave up on is not in the fake's log
        assert len(sent) >= 2  # the first try failed one way or another, a retry succeeded
    for request in sent:
        # The text to translate always reaches the model exactly as written.
        assert faulty_paragraph in source_of(request["prompt"])
    if "block" in marker:
        assert sent[1]["prompt"] != sent[0]["prompt"]  # the instructions were reframed
    segments = json.loads(
        (
            await gw.get(
                f"/api/v1/download/{job['id']}",
                params={"format": "segments"},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).content
    )
    assert all(s["translated_text"] for s in segments)


async def test_malformed_analysis_answers_are_retried(engine_stack, gw, dev_token):
    stack, database = engine_stack
    tag = f"json{uuid.uuid4().hex[:8]}"
    token = dev_token("fault-tester")
    text = novel(tag, 6, marker_at=2, marker="[[fake:malformed-json*1]]")
    job = await submit(gw, token, "json.txt", text.encode(), segment_size=1000)
    done = await wait_for_job(gw, token, job["id"], timeout_s=60)
    assert done["status"] == "COMPLETED", done
    assert "invalid_json" in await usage_outcomes(database, job["id"])
    structured = [r for r in await fake_requests(stack, tag) if r["structured"]]
    assert sum(1 for r in structured if "ChunkAnalysis" in (r.get("schema_name") or "")) >= 2


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        # The provider failing is not the passage's fault: the job fails (and can resume).
        # A passage that is refused or never translated is marked instead (see
        # test_e2e_partial_failure).
        ("[[fake:500]]", "kept failing"),
    ],
)
async def test_persistent_faults_fail_the_job_with_a_reason_after_bounded_tries(
    engine_stack, gw, dev_token, marker, reason
):
    stack, _ = engine_stack
    tag = f"fatal{uuid.uuid4().hex[:8]}"
    token = dev_token("fault-tester")
    job = await submit(
        gw,
        token,
        "doomed.txt",
        novel(tag, 4, marker_at=1, marker=marker).encode(),
        segment_size=1000,
        turbo_mode="true",
    )
    done = await wait_for_job(gw, token, job["id"], timeout_s=120)
    assert done["status"] == "FAILED"
    assert reason in done["error_message"], done["error_message"]
    requests = await fake_requests(stack, tag)
    doomed = [
        r
        for r in requests
        if marker.strip("[]").split(":")[1] in r["outcome"] or r["outcome"] != "ok"
    ]
    assert 0 < len(doomed) <= 12  # bounded: attempts x safety frames at most


# ---- consistency --------------------------------------------------------------------


async def test_a_recurring_name_gets_one_rendering_everywhere(engine_stack, gw, dev_token):
    stack, _ = engine_stack
    tag = f"glossary{uuid.uuid4().hex[:8]}"
    token = dev_token("glossary-reader")
    job = await submit(gw, token, "names.txt", novel(tag, 30).encode(), segment_size=1000)
    done = await wait_for_job(gw, token, job["id"], timeout_s=90)
    assert done["status"] == "COMPLETED"
    assert done["total_segments"] >= 5
    glossary = json.loads(
        (
            await gw.get(
                f"/api/v1/download/{job['id']}",
                params={"format": "glossary"},
                headers={"Authorization": f"Bearer {token}"},
            )
        ).content
    )
    assert "Gregor" in glossary
    rendering = glossary["Gregor"]
    translation_prompts = [
        r["prompt"] for r in await fake_requests(stack, tag) if not r["structured"]
    ]
    with_gregor = [p for p in translation_prompts if "Gregor" in source_of(p)]
    assert len(with_gregor) >= done["total_segments"]
    for prompt in with_gregor:
        assert f"- Gregor => {rendering}" in prompt


async def test_user_glossary_entries_win(engine_stack, gw, dev_token):
    stack, _ = engine_stack
    tag = f"userglossary{uuid.uuid4().hex[:8]}"
    token = dev_token("glossary-reader")
    job = await submit(
        gw,
        token,
        "names.txt",
        novel(tag, 8).encode(),
        segment_size=1000,
        glossary_data='[{"source": "Gregor", "korean": "그레고르"}]',
    )
    done = await wait_for_job(gw, token, job["id"], timeout_s=60)
    assert done["status"] == "COMPLETED"
    prompts = [r["prompt"] for r in await fake_requests(stack, tag) if not r["structured"]]
    assert prompts and all("- Gregor => 그레고르" in p for p in prompts)


# ---- modes ------------------------------------------------------------------------


async def test_strict_continuity_is_sequential_and_chains_translations(engine_stack, gw, dev_token):
    stack, _ = engine_stack
    tag = f"strict{uuid.uuid4().hex[:8]}"
    token = dev_token("strict-reader")
    job = await submit(
        gw,
        token,
        "strict.txt",
        novel(tag, 24).encode(),
        segment_size=1000,
        strict_continuity="true",
    )
    done = await wait_for_job(gw, token, job["id"], timeout_s=90)
    assert done["status"] == "COMPLETED" and done["mode"] == "strict"
    calls = sorted(
        (r for r in await fake_requests(stack, tag) if not r["structured"]), key=lambda r: r["at"]
    )
    for before, after in itertools.pairwise(calls):
        assert after["at"] >= before["at"] + before["latency_ms"] / 1000 - 0.005  # one at a time
    # The fake breaks a paragraph id now and then; the engine asks again, so the answers that
    # were used are those that came back whole.
    used = [r for r in calls if r["outcome"] == "ok"]
    assert len(used) == done["estimate"]["translation"]["calls"] >= 3
    for before, after in itertools.pairwise(used):
        assert "<previous_translation>" in after["prompt"]
        translation = re.sub(r"</?p(?: id=\"\d+\")?>", "", before["output"]).strip()
        assert translation[-40:] in after["prompt"]


async def test_turbo_mode_translates_without_analysis(engine_stack, gw, dev_token):
    stack, _ = engine_stack
    tag = f"turbo{uuid.uuid4().hex[:8]}"
    token = dev_token("turbo-reader")
    job = await submit(gw, token, "turbo.txt", novel(tag, 6).encode(), turbo_mode="true")
    done = await wait_for_job(gw, token, job["id"], timeout_s=60)
    assert done["status"] == "COMPLETED" and done["mode"] == "turbo"
    requests = await fake_requests(stack, tag)
    assert requests and not any(r["structured"] for r in requests)
    assert all("Narrative style" not in r["prompt"] for r in requests)


# ---- keys and providers -------------------------------------------------------------


async def test_user_keys_rotate_past_a_rate_limited_key(engine_stack, gw, dev_token):
    stack, database = engine_stack
    tag = f"keys{uuid.uuid4().hex[:8]}"
    token = dev_token("key-owner")
    job = await submit(
        gw,
        token,
        "keys.txt",
        novel(tag, 6).encode(),
        api_provider="openai",
        api_base_url=stack.config.url("fake-llm") + "/v1",
        model_name="fake-model",
        api_key="ratelimited-key-1",
        backup_api_keys="good-key-2",
    )
    done = await wait_for_job(gw, token, job["id"], timeout_s=90)
    assert done["status"] == "COMPLETED", done
    requests = await fake_requests(stack, tag)
    outcomes = {(r["key_hash"], r["outcome"]) for r in requests}
    assert any(o == "429" for _, o in outcomes) and any(o == "ok" for _, o in outcomes)
    conn = await asyncpg.connect(database.url("translation").replace("+asyncpg", ""))
    try:
        credentials = await conn.fetchval("SELECT credentials FROM jobs WHERE id = $1", job["id"])
        key_ids = await conn.fetch(
            "SELECT DISTINCT key_id FROM usage_records WHERE job_id = $1", job["id"]
        )
    finally:
        await conn.close()
    assert credentials is None  # erased once the job no longer needs them
    assert len({row["key_id"] for row in key_ids}) == 2


async def test_refused_keys_are_refused_before_a_job_is_made(engine_stack, gw, dev_token):
    """A key the provider refuses is found by the live check at upload (the upstream's 400
    and message); no job is made, nothing is queued."""
    stack, _ = engine_stack
    token = dev_token(f"key-owner-{uuid.uuid4().hex[:6]}")
    response = await gw.post(
        "/api/v1/jobs",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("keys.txt", novel("bad", 3).encode(), "text/plain")},
        data={
            "api_provider": "openai",
            "api_base_url": stack.config.url("fake-llm") + "/v1",
            "model_name": "fake-model",
            "api_key": "invalid-key",
        },
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Invalid API Key or unsupported model."
    assert "invalid-key" not in response.text
    listed = await gw.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200 and listed.json() == []


async def test_gemini_rest_provider_end_to_end(engine_stack, gw, dev_token):
    stack, _ = engine_stack
    tag = f"gemini{uuid.uuid4().hex[:8]}"
    token = dev_token("gemini-user")
    job = await submit(
        gw,
        token,
        "gemini.txt",
        novel(tag, 5).encode(),
        api_provider="gemini",
        api_base_url=stack.config.url("fake-llm"),
        model_name="gemini-2.5-flash",
        api_key="AIza-test-key",
    )
    done = await wait_for_job(gw, token, job["id"], timeout_s=60)
    assert done["status"] == "COMPLETED", done
    requests = await fake_requests(stack, tag)
    assert requests and all(r["endpoint"].startswith("gemini") for r in requests)


# ---- cost control -------------------------------------------------------------------


async def test_spending_cap_pauses_instead_of_overspending_and_resume_finishes(
    engine_stack, gw, dev_token
):
    tag = f"cap{uuid.uuid4().hex[:8]}"
    token = dev_token("thrifty")
    headers = {"Authorization": f"Bearer {token}"}
    text = novel(tag, 40)
    job = await submit(gw, token, "cap.txt", text.encode(), segment_size=1000, max_tokens=60)
    paused = await wait_for_job(gw, token, job["id"], timeout_s=60, until=("PAUSED",))
    assert paused["status"] == "PAUSED" and "spending cap" in paused["status_detail"]
    assert paused["usage"]["calls"] == 0  # not even the analysis was run
    assert paused["estimate"]["analysis"]["calls"] >= 1

    # Enough for the analysis and a few segments (about a thousand tokens each), not all.
    cap = paused["estimate"]["total_tokens"] + 2500
    resumed = await gw.post(
        f"/api/v1/jobs/{job['id']}/resume", headers=headers, json={"max_tokens": cap}
    )
    assert resumed.status_code == 200, resumed.text
    paused_again = await wait_for_job(gw, token, job["id"], timeout_s=60, until=("PAUSED",))
    settled = await _settled(gw, job["id"], headers)  # segments in flight still land
    spent = sum(settled["usage"][k] for k in ("input_tokens", "output_tokens", "thinking_tokens"))
    assert paused_again["status"] == "PAUSED", settled
    assert 0 < settled["translated_segments"] < settled["total_segments"], settled["status_detail"]
    assert spent <= cap
    assert settled["estimate"]["translation"]["calls"] >= settled["total_segments"]

    again = await gw.post(
        f"/api/v1/jobs/{job['id']}/resume", headers=headers, json={"max_tokens": 10_000_000}
    )
    assert again.status_code == 200
    done = await wait_for_job(gw, token, job["id"], timeout_s=90)
    assert done["status"] == "COMPLETED"


async def _settled(client: httpx.AsyncClient, job_id: int, headers: dict) -> dict:
    """The job once its in-flight segments have landed (no change for a second)."""
    last, stable_since = None, time.monotonic()
    while time.monotonic() - stable_since < 1.0:
        job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        if last is None or job["translated_segments"] != last["translated_segments"]:
            stable_since = time.monotonic()
        last = job
        await asyncio.sleep(0.1)
    return last


async def test_a_rerun_of_the_same_book_costs_no_calls(engine_stack, gw, dev_token):
    stack, _ = engine_stack
    tag = f"memory{uuid.uuid4().hex[:8]}"
    token = dev_token("rerunner")
    body = novel(tag, 12).encode()
    first = await wait_for_job(
        gw, token, (await submit(gw, token, "again.txt", body, segment_size=1000))["id"]
    )
    assert first["status"] == "COMPLETED"
    calls_before = len(await fake_requests(stack, tag))
    second = await wait_for_job(
        gw, token, (await submit(gw, token, "again.txt", body, segment_size=1000))["id"]
    )
    assert second["status"] == "COMPLETED"
    assert len(await fake_requests(stack, tag)) == calls_before  # memory and cache: no calls
    assert second["usage"]["calls"] == 0


# ---- a worker dies --------------------------------------------------------------------


async def test_killing_a_worker_loses_only_its_in_flight_segments(
    folio_infra, database_factory, amqp_vhost, tmp_path, dev_token
):
    database = await database_factory()
    config = stack_config(
        tmp_path,
        database,
        amqp_vhost("crash"),
        folio_infra,
        fake_llm_env={
            "FAKE_LLM_LATENCY_BASE_MS": "400",
            "FAKE_LLM_LATENCY_PER_CHAR_MS": "1",
            "FAKE_LLM_LAYOUT_FAULT_RATE": "0",  # one call per segment, to count them
        },
        service_env={
            "translation-service": {"FOLIO_DISPATCH_WINDOW": "3"},
            "worker-service": {"FOLIO_UNIT_SIZE": "2500"},  # one unit (one call) per segment
        },
    )
    stack = Stack(config)
    try:
        await stack.start()
        tag = f"crash{uuid.uuid4().hex[:8]}"
        token = dev_token("crash-reader")
        async with httpx.AsyncClient(base_url=config.url("gateway"), timeout=60) as client:
            job = await submit(
                client,
                token,
                "crash.txt",
                novel(tag, 16).encode(),
                segment_size=1000,
                turbo_mode="true",
            )
            while True:
                state = (
                    await client.get(
                        f"/api/v1/jobs/{job['id']}", headers={"Authorization": f"Bearer {token}"}
                    )
                ).json()
                if state["translated_segments"] >= 3:
                    break
                await asyncio.sleep(0.05)
            killed_at = time.time()
            stack.stop_process("worker-service", kill=True)
            await asyncio.sleep(0.5)
            stack.start_process("worker-service")
            done = await wait_for_job(client, token, job["id"], timeout_s=120)
        assert done["status"] == "COMPLETED"
        assert done["translated_segments"] == done["total_segments"]
        conn = await asyncpg.connect(database.url("translation").replace("+asyncpg", ""))
        try:
            finished_before = await conn.fetch(
                "SELECT source_text FROM segments WHERE job_id = $1 AND translated_at < "
                "to_timestamp($2)",
                job["id"],
                killed_at,
            )
            records = await conn.fetch(
                "SELECT segment_index, "
                "count(*) FILTER (WHERE NOT cached AND NOT estimated) AS live "
                "FROM usage_records WHERE job_id = $1 GROUP BY segment_index",
                job["id"],
            )
        finally:
            await conn.close()
        assert len(finished_before) >= 3
        # Each segment was applied once: one answered call recorded per segment at most
        # (a call in flight at the kill is also recorded, at its reservation, estimated).
        assert all(r["live"] <= 1 for r in records)
        requests = [r for r in await fake_requests(stack, tag) if not r["structured"]]
        for row in finished_before:
            sent = [r for r in requests if source_of(r["prompt"]).strip() == row["source_text"]]
            assert len(sent) == 1, "a finished segment went to the model again"
    finally:
        await asyncio.to_thread(stack.stop)
