"""Honest spend through the running services: the usage a job records is, call by call
(matched by Folio's call id, which the fake logs), what the model provider reported,
through a RabbitMQ connection loss, a worker told to stop and a worker killed in the
middle of the book (a call whose answer died with it is recorded at its reservation);
the spending cap is never passed, retries and re-asked answers included, and a paused
job resumes within a raised cap."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest

from folio_devstack.faults import TcpProxy
from folio_devstack.pytest_plugin import stack_config
from folio_devstack.stack import Stack

from .conftest import submit, wait_for_job


def novel(tag: str, paragraphs: int, faults: dict[int, str] | None = None) -> str:
    out = []
    for p in range(paragraphs):
        line = (
            f"{tag} paragraph {p}. Gregor looked at Grete while the rain fell on the window, "
            f"and the clerk waited in the hall for an answer that did not come."
        )
        out.append(f"{line} {(faults or {}).get(p, '')}".strip())
    return "\n\n".join(out)


async def fake_rows(stack: Stack, tag: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=stack.config.url("fake-llm")) as client:
        data = (await client.get("/_fake/requests")).json()
    rows = data["requests"] if isinstance(data, dict) else data
    return [r for r in rows if tag in r["prompt"]]


async def usage_rows(database, job_id: int) -> list[asyncpg.Record]:
    """The job's paid calls, each named by Folio's call id."""
    conn = await asyncpg.connect(database.url("translation").replace("+asyncpg", ""))
    try:
        return await conn.fetch(
            "SELECT call_id, input_tokens, output_tokens, thinking_tokens, outcome, estimated "
            "FROM usage_records WHERE job_id = $1 AND NOT cached",
            job_id,
        )
    finally:
        await conn.close()


def billed(row) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    if isinstance(row, dict):
        return (row["prompt_tokens"], row["completion_tokens"] + row["thought_tokens"])
    return (row["input_tokens"], row["output_tokens"] + row["thinking_tokens"])


async def job_of(client: httpx.AsyncClient, token: str, job_id: int) -> dict:
    response = await client.get(
        f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}
    )
    return response.json()


async def until(predicate, timeout_s: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.5)


@pytest.fixture
async def proxied_stack(folio_infra, database_factory, amqp_vhost, tmp_path):
    proxy = TcpProxy("127.0.0.1", 5672)
    port = await proxy.start()
    amqp_url = amqp_vhost("spend").replace("127.0.0.1:5672", f"127.0.0.1:{port}")
    database = await database_factory()
    config = stack_config(
        tmp_path,
        database,
        amqp_url,
        folio_infra,
        fake_llm_env={"FAKE_LLM_LATENCY_BASE_MS": "300", "FAKE_LLM_LATENCY_PER_CHAR_MS": "1"},
        service_env={"translation-service": {"FOLIO_DISPATCH_WINDOW": "3"}},
    )
    stack = Stack(config)
    try:
        await stack.start()
        yield stack, proxy, database
    finally:
        await asyncio.to_thread(stack.stop)
        await proxy.close()


def in_flight(row: dict, since: float, until: float) -> bool:
    """Whether the fake was answering this call at some time between ``since`` and ``until``."""
    return row["at"] <= until and row["at"] + row["latency_ms"] / 1000 >= since


async def test_usage_is_each_provider_call_once_through_a_broker_loss_a_worker_stop_and_kill(
    proxied_stack, dev_token
):
    stack, proxy, database = proxied_stack
    tag = f"spend{uuid.uuid4().hex[:8]}"
    token = dev_token("spend-reader")
    faults = {3: "[[fake:echo*1]]", 40: "[[fake:500*1]]"}  # re-asked and retried calls
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=60) as client:
        job = await submit(
            client, token, "spend.txt", novel(tag, 80, faults).encode(), segment_size=1000
        )

        async def translated(n: int) -> bool:
            return (await job_of(client, token, job["id"]))["translated_segments"] >= n

        assert await until(lambda: translated(2))
        await proxy.cut()  # RabbitMQ unreachable for every service, mid-book
        await asyncio.sleep(4)
        await proxy.restore()
        assert await until(lambda: translated(5))
        # Told to stop (what Kubernetes and compose send): its calls in flight finish.
        stopped_from = time.time()
        stack.stop_process("worker-service")
        stopped_to = time.time()
        stack.start_process("worker-service")
        assert await until(lambda: translated(8))
        # Killed: the answers on their way are never seen by Folio.
        killed_from = time.time()
        stack.stop_process("worker-service", kill=True)
        killed_to = time.time()
        await asyncio.sleep(0.5)
        stack.start_process("worker-service")
        done = await wait_for_job(client, token, job["id"], timeout_s=240)
    assert done["status"] == "COMPLETED", done

    async def matched() -> tuple[dict, dict] | None:
        served = {r["client_request_id"]: r for r in await fake_rows(stack, tag)}
        rows = {r["call_id"]: r for r in await usage_rows(database, job["id"])}
        if set(served) - set(rows):
            return None  # the killed worker's calls are recorded once its heartbeat lapses
        return served, rows

    outcome = await until(matched, timeout_s=120)
    if outcome is None:
        served = {r["client_request_id"]: r for r in await fake_rows(stack, tag)}
        rows = {r["call_id"]: r for r in await usage_rows(database, job["id"])}
        missing = [
            (i, c["outcome"], round(c["at"] - stopped_from, 2), round(c["at"] - killed_from, 2))
            for i, c in served.items()
            if i not in rows
        ]
        raise AssertionError(
            f"provider calls with no usage row (id, outcome, s after the stop, s after the "
            f"kill): {missing}; rows not served: {len(set(rows) - set(served))}"
        )
    served, rows = outcome
    assert None not in served  # Folio named every call it sent
    every = await usage_rows(database, job["id"])
    assert len(every) == len(rows)  # one row per call id
    for call_id, call in served.items():
        row = rows[call_id]
        if row["estimated"]:  # its answer was never seen: recorded at its reservation
            assert row["outcome"] in ("lost", "cancelled"), row
            assert sum(billed(row)) >= sum(billed(call)), (row, call)
            # Only a kill, or the broker's loss (commands cancelled), leaves such a call.
            assert in_flight(call, killed_from - 1.0, killed_to) or row["outcome"] == "cancelled"
        else:
            assert billed(row) == billed(call), (row, call)  # as the provider billed it
    # The stop lost nothing: every call in flight then was answered and recorded exactly.
    at_stop = [c for c in served.values() if in_flight(c, stopped_from, stopped_to)]
    assert at_stop, "no call was in flight when the worker was told to stop"
    assert [c for c in served.values() if in_flight(c, killed_from, killed_to)]
    assert not [
        rows[c["client_request_id"]] for c in at_stop if rows[c["client_request_id"]]["estimated"]
    ]
    # A row no provider call matches is a call noted in flight that never went out.
    assert all(rows[i]["estimated"] for i in set(rows) - set(served))
    assert {r["outcome"] for r in every} >= {"ok", "5xx"}
    # The job's totals are its rows' sum.
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=60) as client:
        final = await job_of(client, token, job["id"])
    assert final["usage"]["calls"] == len(every)
    assert final["usage"]["input_tokens"] == sum(r["input_tokens"] for r in every)
    # The part that is Folio's estimate (answers never seen) is shown apart.
    assert final["usage"]["estimated_tokens"] == sum(
        sum(billed(r)) for r in every if r["estimated"]
    )


@pytest.fixture
async def spend_stack(folio_infra, database_factory, amqp_vhost, tmp_path):
    database = await database_factory()
    config = stack_config(
        tmp_path,
        database,
        amqp_vhost("cap"),
        folio_infra,
        fake_llm_env={"FAKE_LLM_LATENCY_BASE_MS": "30"},
        service_env={"worker-service": {"FOLIO_LLM_MAX_ATTEMPTS": "4"}},
    )
    stack = Stack(config)
    try:
        await stack.start()
        yield stack, database
    finally:
        await asyncio.to_thread(stack.stop)


async def test_the_cap_is_never_passed_and_a_raised_cap_finishes_the_book(spend_stack, dev_token):
    stack, database = spend_stack
    tag = f"cap{uuid.uuid4().hex[:8]}"
    token = dev_token("cap-reader")
    faults = {1: "[[fake:500*2]]", 4: "[[fake:echo*2]]", 7: "[[fake:500*1]]"}
    cap = 6000
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=60) as client:
        job = await submit(
            client,
            token,
            "cap.txt",
            novel(tag, 30, faults).encode(),
            segment_size=1000,
            max_tokens=cap,
        )
        paused = await wait_for_job(client, token, job["id"], timeout_s=120, until=("PAUSED",))
        assert paused["status"] == "PAUSED", paused
        assert "spending cap" in paused["status_detail"]

        async def spent_is_served() -> bool:
            served = sum(sum(billed(r)) for r in await fake_rows(stack, tag))
            state = await job_of(client, token, job["id"])
            usage = state["usage"]
            return served == (
                usage["input_tokens"] + usage["output_tokens"] + usage["thinking_tokens"]
            )

        assert await until(spent_is_served, timeout_s=60)
        served = await fake_rows(stack, tag)
        assert sum(sum(billed(r)) for r in served) <= cap  # what the provider billed
        assert any(r["outcome"] != "ok" for r in served)  # retries were among the calls

        raised = 10 * cap
        resumed = await client.post(
            f"/api/v1/jobs/{job['id']}/resume",
            headers={"Authorization": f"Bearer {token}"},
            json={"max_tokens": raised},
        )
        assert resumed.status_code < 300, resumed.text
        done = await wait_for_job(client, token, job["id"], timeout_s=180)
        assert done["status"] == "COMPLETED", done
        assert await until(spent_is_served, timeout_s=60)
        served = await fake_rows(stack, tag)
        assert sum(sum(billed(r)) for r in served) <= raised
        recorded = await usage_rows(database, job["id"])
        assert Counter(billed(r) for r in recorded) == Counter(billed(r) for r in served)


def source_of(prompt: str) -> str:
    start = prompt.rindex("<source>\n") + len("<source>\n")
    return prompt[start : prompt.rindex("\n</source>")]


async def test_every_call_of_a_job_starts_with_the_same_job_prefix(spend_stack, dev_token):
    stack, _ = spend_stack
    tag = f"prefix{uuid.uuid4().hex[:8]}"
    token = dev_token("prefix-reader")
    # A glossary of the user's large enough for providers' prefix caches (1024+ tokens).
    glossary = [{"source": f"Termword{i}{tag}", "korean": f"용어{i}"} for i in range(150)]
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=60) as client:
        job = await submit(
            client,
            token,
            "prefix.txt",
            novel(tag, 40).encode(),
            segment_size=1000,
            glossary_data=json.dumps(glossary),
        )
        done = await wait_for_job(client, token, job["id"], timeout_s=120)
    assert done["status"] == "COMPLETED", done
    prompts = [r["prompt"] for r in await fake_rows(stack, tag) if not r["structured"]]
    assert len(prompts) >= done["total_segments"] >= 5
    end = "</target_language>\n"
    prefixes = {p[: p.index(end) + len(end)] for p in prompts}
    assert len(prefixes) == 1  # byte-identical across every call of the job
    (prefix,) = prefixes
    assert "Narrative style of the book" in prefix and f"- Termword149{tag} => 용어149" in prefix
    assert len(prefix.encode()) >= 4096  # 1024 tokens at the providers' 4 bytes a token
    for prompt in prompts:  # nothing of the call itself comes before or inside it
        assert source_of(prompt) not in prefix
        assert "paragraph(s)" not in prefix and "<before>" not in prefix
    # The fake, like OpenAI, serves the shared prefix from its cache: recorded and shown.
    assert done["usage"]["cached_input_tokens"] > 0
    assert done["usage"]["cached_input_tokens"] < done["usage"]["input_tokens"]
