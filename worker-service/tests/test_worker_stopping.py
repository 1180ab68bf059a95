"""A worker told to stop lets its calls in flight finish and records each of them, as the
provider reported it (matched by Folio's call id, sent as ``X-Client-Request-Id``), then
re-queues the command; a call whose worker died with it in flight is recorded once, as
lost, at its reservation, by another replica."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from folio.contracts import CallRecord, CallsRecorded
from folio.messaging import Defer
from folio_worker.clients import ClientFactory
from folio_worker.deps import WorkerDeps
from folio_worker.engine.calls import MemoryCache, Stopping
from folio_worker.engine.journal import UsageJournal
from folio_worker.llm import InProcessRateLimiter
from folio_worker.redis_client import connect_redis
from folio_worker.translating import SegmentWorker

from .test_worker_spend import (
    REDIS_URL,
    RecordingPublisher,
    Replicas,
    delivery,
    paragraph,
    replicas,  # noqa: F401  # the fixture
    segment_command,
    served,
    units,
)


async def in_flight(fake: str) -> int:
    async with httpx.AsyncClient(base_url=fake) as client:
        return int((await client.get("/_fake/stats")).json()["in_flight"])


async def test_a_stopping_worker_finishes_and_records_its_calls_in_flight(
    replicas: Replicas,  # noqa: F811  # the fixture
    fake_llm_url: str,
) -> None:
    tag = f"stop{uuid.uuid4().hex[:8]}"
    # Eight slow units, four at a time: the stop comes while the first four are out.
    texts = [paragraph(tag, i, "[[fake:slow=0.8]]") for i in range(8)]
    command = await segment_command(replicas, 71, {0: units(texts)}, 0)
    stopping = Stopping()
    clients = ClientFactory(
        replicas.settings, replicas.http, InProcessRateLimiter(), MemoryCache(), None, stopping
    )
    deps = WorkerDeps(
        replicas.settings,
        replicas.storage,
        replicas.publisher,
        clients,
        None,  # type: ignore[arg-type]
        spend=replicas.ledger,
        journal=replicas.journal,
    )
    task = asyncio.create_task(SegmentWorker(deps).translate_segment(command, delivery(command)))
    async with httpx.AsyncClient(base_url=fake_llm_url) as fake:
        for _ in range(600):  # until calls are out (a loaded machine may take a while)
            if (await fake.get("/_fake/stats")).json()["in_flight"] >= 2:
                break
            await asyncio.sleep(0.05)
    await stopping.begin()
    with pytest.raises(Defer):  # re-queued, for this worker's successor
        await task
    assert await in_flight(fake_llm_url) == 0
    rows = await served(fake_llm_url, tag)
    assert 2 <= len(rows) < 8  # the calls out at the stop finished; no new one started
    reported = {c.call_id: c for c in await replicas.reported()}
    # Each call the provider answered is recorded once, by its id, as it was billed.
    assert sorted(reported) == sorted(r["client_request_id"] for r in rows)
    for row in rows:
        call = reported[row["client_request_id"]]
        assert (call.input_tokens, call.output_tokens) == (
            row["prompt_tokens"],
            row["completion_tokens"],
        )
        assert call.outcome == "ok" and not call.estimated


async def test_a_call_lost_with_its_worker_is_recorded_once_at_its_reservation(
    redis_prefix: str,
) -> None:
    redis = connect_redis(REDIS_URL)
    stream = f"{redis_prefix}:usage-journal"
    dead = UsageJournal(RecordingPublisher(), redis, stream=stream)  # type: ignore[arg-type]
    publisher = RecordingPublisher()
    alive = UsageJournal(publisher, redis, stream=stream)  # type: ignore[arg-type]
    try:

        def started(call_id: str) -> CallRecord:
            return CallRecord(
                phase="translation",
                model="gpt-4o-mini",
                call_id=call_id,
                input_tokens=300,
                output_tokens=900,
                outcome="lost",
                estimated=True,
            )

        # The dead replica noted three calls; one was answered before it died.
        for call_id in ("c1", "c2", "c3"):
            await dead.begin(81, 4, started(call_id))
        answered = started("c2").model_copy(
            update={"input_tokens": 290, "output_tokens": 120, "outcome": "ok", "estimated": False}
        )
        await dead.append(81, 4, [answered], finished=["c2"])
        # The live replica's own call in flight is not lost.
        await alive._beat()
        await alive.begin(82, 0, started("c4"))

        await alive._relay_lost()
        await alive._relay_lost()  # nothing twice
        (event,) = publisher.published
        assert isinstance(event, CallsRecorded)
        assert (event.job_id, event.segment_index) == (81, 4)
        assert sorted(c.call_id for c in event.calls) == ["c1", "c3"]
        assert all(
            c.outcome == "lost" and c.estimated and (c.input_tokens, c.output_tokens) == (300, 900)
            for c in event.calls
        )
        assert await redis.hkeys(f"{stream}:inflight") == [b"c4"]
        await alive.append(82, 0, [], finished=["c4"])  # its answer takes it off
        assert await redis.hlen(f"{stream}:inflight") == 0
    finally:
        await redis.aclose()
