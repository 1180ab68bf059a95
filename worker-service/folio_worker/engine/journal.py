"""Every model call's usage, reported once, whatever happens to the command that made it.

A result event carries its command's calls, but a command redone after a broker outage or
a worker crash would lose the calls of the lost attempt (their result was never
published, or its duplicate is dropped). So each call is also written to a journal as
soon as it is answered, before the engine uses the answer: a Redis stream shared by the
replicas (it outlives the worker), else a list in the process. A relay publishes the
entries as ``CallsRecorded`` events with broker confirms and only then removes them;
entries a dead worker had read but not published are claimed by another replica after
``CLAIM_IDLE_MS``. Every record has its own ``call_id`` and translation-service stores it
once, so an entry published twice, or also carried by a result event, counts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from folio.contracts import CallRecord, CallsRecorded
from folio.messaging import Publisher

log = logging.getLogger(__name__)

GROUP = "relay"
BATCH = 256
CLAIM_IDLE_MS = 30_000
RETRY_S = 1.0
_NAMESPACE = uuid.UUID("6f3c1d0e-54a2-4c47-9a43-1f6f0b7f8a11")


def _entry(job_id: int, segment_index: int | None, call: CallRecord) -> str:
    return json.dumps(
        {"job": job_id, "segment": segment_index, "call": call.model_dump(mode="json")},
        separators=(",", ":"),
    )


class UsageJournal:
    def __init__(
        self,
        publisher: Publisher,
        redis: aioredis.Redis | None = None,
        *,
        stream: str = "folio:usage-journal",
    ) -> None:
        self.publisher = publisher
        self.redis = redis
        self.stream = stream
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._local: deque[str] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._group_ready = False

    async def append(
        self, job_id: int, segment_index: int | None, calls: Sequence[CallRecord]
    ) -> None:
        """Write the calls down (durably with Redis) before their answers are used."""
        entries = [_entry(job_id, segment_index, c) for c in calls if c.call_id]
        if not entries:
            return
        if self.redis is not None:
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for entry in entries:
                        pipe.xadd(self.stream, {"e": entry})
                    await pipe.execute()
                self._wake.set()
                return
            except RedisError as exc:
                log.warning("usage journal: Redis unavailable (%s); kept in process", exc)
        self._local.extend(entries)
        self._wake.set()

    # ---- the relay -------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-journal-relay")

    async def stop(self, drain_s: float = 5.0) -> None:
        """Publish what is left in the process (the Redis stream outlives us anyway)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(drain_s):
                await self._publish_local()

    async def _run(self) -> None:
        claim_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._publish_local()
                if self.redis is not None:
                    if loop.time() >= claim_at:
                        await self._relay_claimed()
                        claim_at = loop.time() + CLAIM_IDLE_MS / 2000
                    await self._relay_stream()
                else:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(5.0):
                            await self._wake.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker or Redis is away: try again shortly
                log.warning("usage journal: relay paused (%s)", type(exc).__name__)
                await asyncio.sleep(RETRY_S)

    async def _publish_local(self) -> None:
        while self._local:
            batch = [self._local[i] for i in range(min(BATCH, len(self._local)))]
            await self._publish(batch)
            for _ in batch:
                self._local.popleft()

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        assert self.redis is not None
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _relay_stream(self) -> None:
        assert self.redis is not None
        await self._ensure_group()
        # Our own entries read but not published (a failed publish) first, then new ones.
        for start in ("0", ">"):
            answer = await self.redis.xreadgroup(
                GROUP,
                self.consumer,
                {self.stream: start},
                count=BATCH,
                block=1000 if start == ">" else None,
            )
            for _, entries in answer or []:
                await self._relay_entries(entries)

    async def _relay_claimed(self) -> None:
        """Entries a dead replica read and never published."""
        assert self.redis is not None
        await self._ensure_group()
        _, entries, *_ = await self.redis.xautoclaim(
            self.stream, GROUP, self.consumer, CLAIM_IDLE_MS, "0-0", count=BATCH
        )
        await self._relay_entries(entries)

    async def _relay_entries(self, entries: list[tuple[Any, dict[Any, Any]]]) -> None:
        if not entries:
            return
        assert self.redis is not None
        ids = [entry_id for entry_id, _ in entries]
        bodies = []
        for _, fields in entries:
            raw = fields.get(b"e") or fields.get("e")
            if raw is not None:
                bodies.append(raw.decode() if isinstance(raw, bytes) else raw)
        await self._publish(bodies)
        await self.redis.xack(self.stream, GROUP, *ids)
        await self.redis.xdel(self.stream, *ids)

    async def _publish(self, bodies: list[str]) -> None:
        groups: dict[tuple[int, int | None], list[CallRecord]] = defaultdict(list)
        for body in bodies:
            try:
                data = json.loads(body)
                call = CallRecord.model_validate(data["call"])
                groups[(int(data["job"]), data.get("segment"))].append(call)
            except (ValueError, KeyError, TypeError):
                log.error("usage journal: unreadable entry dropped")
        for (job_id, segment_index), calls in groups.items():
            event = CallsRecorded(job_id=job_id, segment_index=segment_index, calls=calls)
            ids = ",".join(sorted(c.call_id or "" for c in calls))
            await self.publisher.publish(
                event,
                message_id=uuid.uuid5(_NAMESPACE, ids),
                correlation_id=f"job-{job_id}",
            )
