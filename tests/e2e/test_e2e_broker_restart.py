"""A real RabbitMQ restart in the middle of a book, on a broker node of the test's own:
every service reconnects by itself, the book completes with every paragraph translated,
nothing lands in a dead-letter queue, and the usage the job records is, call by call,
what the model provider reported (nothing lost, nothing counted twice)."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import httpx
import pytest

from folio.messaging.topology import QUEUES
from folio_devstack.broker import PrivateBroker
from folio_devstack.pytest_plugin import stack_config
from folio_devstack.stack import Stack

from .conftest import wait_for_job
from .test_e2e_spend import billed, fake_rows, job_of, novel, until, usage_rows


@pytest.fixture
async def restartable_stack(folio_infra, database_factory, tmp_path):
    broker = PrivateBroker()
    await asyncio.to_thread(broker.start)
    database = await database_factory()
    config = stack_config(
        tmp_path / "stack",
        database,
        broker.url,
        folio_infra,
        fake_llm_env={"FAKE_LLM_LATENCY_BASE_MS": "300", "FAKE_LLM_LATENCY_PER_CHAR_MS": "1"},
        service_env={"translation-service": {"FOLIO_DISPATCH_WINDOW": "3"}},
    )
    stack = Stack(config)
    try:
        await stack.start()
        yield stack, broker, database
    finally:
        await asyncio.to_thread(stack.stop)
        await asyncio.to_thread(broker.close)


async def dead_letters(amqp_url: str) -> dict[str, int]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        counts = {}
        for spec in QUEUES:
            queue = await channel.declare_queue(spec.dead_letter_queue, passive=True)
            counts[spec.dead_letter_queue] = queue.declaration_result.message_count
        return counts
    finally:
        await connection.close()


async def test_a_broker_restart_mid_book_loses_nothing_and_counts_every_call_once(
    restartable_stack, dev_token
):
    stack, broker, database = restartable_stack
    tag = f"restart{uuid.uuid4().hex[:8]}"
    token = dev_token("restart-reader")
    paragraphs = 40
    async with httpx.AsyncClient(base_url=stack.config.url("gateway"), timeout=60) as client:
        response = await client.post(
            "/api/v1/jobs",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": ("restart.txt", novel(tag, paragraphs).encode(), "text/plain")},
            data={"segment_size": "1000"},
        )
        assert response.status_code == 200, response.text
        job = response.json()

        async def translated(n: int) -> bool:
            return (await job_of(client, token, job["id"]))["translated_segments"] >= n

        assert await until(lambda: translated(2))
        before = (await job_of(client, token, job["id"]))["translated_segments"]
        await asyncio.to_thread(broker.stop_app)  # every connection closed, mid-book
        await asyncio.sleep(3)
        await asyncio.to_thread(broker.start_app)
        done = await wait_for_job(client, token, job["id"], timeout_s=240)
        assert done["status"] == "COMPLETED", done
        assert before < done["total_segments"], "the restart came after the book was done"

        page = (
            await client.get(
                f"/api/v1/jobs/{job['id']}/segments",
                headers={"Authorization": f"Bearer {token}"},
                params={"limit": 500},
            )
        ).json()
        segments = page["segments"]
        assert len(segments) == done["total_segments"]
        assert not [s["segment_index"] for s in segments if s["failed"]]
        text = "\n".join(s["translated_text"] for s in segments)
        for p in range(paragraphs):
            assert f"paragraph {p}." not in text, f"paragraph {p} left in the source"

    # Every call the provider served has exactly one usage row, matched by Folio's call id;
    # the job's last usage may still be on its way through the outbox at COMPLETED.
    async def matched() -> tuple[dict, dict] | None:
        served = {r["client_request_id"]: r for r in await fake_rows(stack, tag)}
        rows = {r["call_id"]: r for r in await usage_rows(database, job["id"])}
        return (served, rows) if not set(served) - set(rows) else None

    outcome = await until(matched, timeout_s=90)
    assert outcome is not None, "a provider call has no usage row"
    served, rows = outcome
    assert None not in served
    assert len(await usage_rows(database, job["id"])) == len(rows)  # one row per call id
    for call_id, call in served.items():
        row = rows[call_id]
        if row["estimated"]:
            # A call whose command the lost connection cancelled: its answer was never
            # seen, so it is counted at its reservation, never under what was billed.
            assert row["outcome"] == "cancelled", row
            assert sum(billed(row)) >= sum(billed(call)), (row, call)
        else:
            assert billed(row) == billed(call), (row, call)  # as the provider billed it
    assert all(rows[i]["estimated"] for i in set(rows) - set(served))
    assert set((await dead_letters(broker.url)).values()) == {0}
