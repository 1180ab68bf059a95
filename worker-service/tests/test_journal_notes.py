"""A call's in-flight note is in Redis when ``begin`` returns, also when many calls start
at once (their notes are written together, not one round trip each)."""

from __future__ import annotations

import asyncio
import json

from folio.contracts import CallRecord
from folio_worker.engine.journal import UsageJournal
from folio_worker.redis_client import connect_redis

from .test_worker_spend import REDIS_URL, RecordingPublisher


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


async def test_every_note_is_durable_when_its_call_may_go_out(redis_prefix: str) -> None:
    redis = connect_redis(REDIS_URL)
    stream = f"{redis_prefix}:usage-journal"
    journal = UsageJournal(RecordingPublisher(), redis, stream=stream)  # type: ignore[arg-type]
    writes = 0
    hset = redis.hset

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += 1
        return await hset(*args, **kwargs)

    redis.hset = counted  # type: ignore[method-assign]
    seen_in_redis: list[bool] = []

    async def call(number: int) -> None:
        call_id = f"n{number}"
        await journal.begin(90, number, started(call_id))
        seen_in_redis.append(await redis.hexists(f"{stream}:inflight", call_id))

    try:
        await asyncio.gather(*(call(i) for i in range(30)))
        assert seen_in_redis == [True] * 30
        assert writes < 30  # notes of calls starting together share a write
        notes = await redis.hgetall(f"{stream}:inflight")
        assert len(notes) == 30
        entry = json.loads(json.loads(notes[b"n7"])["entry"])
        assert (entry["job"], entry["segment"], entry["call"]["call_id"]) == (90, 7, "n7")
        # One call alone is noted at once, as before.
        await journal.begin(91, None, started("alone"))
        assert await redis.hexists(f"{stream}:inflight", "alone")
    finally:
        await redis.delete(f"{stream}:inflight")
        await redis.aclose()


async def test_a_call_cancelled_before_its_note_was_written_leaves_no_note(
    redis_prefix: str,
) -> None:
    redis = connect_redis(REDIS_URL)
    stream = f"{redis_prefix}:usage-journal"
    journal = UsageJournal(RecordingPublisher(), redis, stream=stream)  # type: ignore[arg-type]
    try:
        first = asyncio.create_task(journal.begin(92, 0, started("first")))
        await asyncio.sleep(0)  # its write is under way
        second = asyncio.create_task(journal.begin(92, 1, started("second")))
        await asyncio.sleep(0)  # queued behind it
        second.cancel()
        await first
        await asyncio.gather(second, return_exceptions=True)
        await journal.begin(92, 2, started("third"))
        assert sorted(await redis.hkeys(f"{stream}:inflight")) == [b"first", b"third"]
    finally:
        await redis.delete(f"{stream}:inflight")
        await redis.aclose()
