"""Every model call's usage, reported once, whatever happens to the command that made it.

A result event carries its command's calls, but a command redone after a broker outage or
a worker crash would lose the calls of the lost attempt (their result was never
published, or its duplicate is dropped). So each call is also written to a journal as
soon as it is answered, before the engine uses the answer: a Redis stream shared by the
replicas (it outlives the worker), else a list in the process. When the command's result
is published (carrying its calls), its entries are deleted: in the normal course the
journal costs a write and a delete per call and no message. Entries still there after
``LINGER_S`` belong to commands that never reported (the worker died, the broker was
away, the command was deferred or redone): a relay publishes them as ``CallsRecorded``
events with broker confirms, then deletes them (one replica at a time, under a short
lock). Every record has its own ``call_id`` and translation-service stores it once, so an
entry published twice, or also carried by a result event, counts once.

A call is also noted *before* it is sent (an in-flight entry, by call id, naming the
replica that sends it; each replica keeps a heartbeat key alive). Its answer takes it
off in the same Redis transaction that journals the answer, so a call is in flight or
answered, never both. A worker killed mid-call cannot see the answer its provider
billed; once its heartbeat has lapsed, the relay of another replica records each such
call once, as outcome ``lost`` at its reservation (the prompt as counted plus the
request's output limit), flagged ``estimated``: usage and limits never under-count.

A call belongs to a job, or (an analysis without a job, ``/analysis/*``) to the signed-in
caller who asked for it (:class:`AnalysisOwner`), relayed as ``AnalysisCallsRecorded``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from folio.contracts import AnalysisCallsRecorded, CallRecord, CallsRecorded
from folio.messaging import Publisher

log = logging.getLogger(__name__)

BATCH = 256
LINGER_S = 10.0  # a command's result normally follows its calls well within this
RETRY_S = 1.0
# A replica counts as gone once its heartbeat is this many linger times old.
ALIVE_LINGERS = 3
# An in-flight entry of a live replica this old (past any call's timeout) is a leftover
# of a failed clean-up: recorded as lost all the same.
STALE_S = 720.0
_NAMESPACE = uuid.UUID("6f3c1d0e-54a2-4c47-9a43-1f6f0b7f8a11")


@dataclass(frozen=True)
class AnalysisOwner:
    """Who pays for the calls of an analysis without a job: the signed-in caller, and
    whether on the deployment's own key (then against their daily allowance)."""

    owner_id: str
    allowance: bool


# Whose a call is: its job's (by id), or an analysis's owner's.
Payer = int | AnalysisOwner


def _entry(payer: Payer, segment_index: int | None, call: CallRecord) -> str:
    whose: dict[str, object]
    if isinstance(payer, AnalysisOwner):
        whose = {"owner_id": payer.owner_id, "allowance": payer.allowance}
    else:
        whose = {"job": payer, "segment": segment_index}
    return json.dumps({**whose, "call": call.model_dump(mode="json")}, separators=(",", ":"))


class UsageJournal:
    def __init__(
        self,
        publisher: Publisher,
        redis: aioredis.Redis | None = None,
        *,
        stream: str = "folio:usage-journal",
        linger_s: float = LINGER_S,
    ) -> None:
        self.publisher = publisher
        self.redis = redis
        self.stream = stream
        self.linger_s = linger_s
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.inflight = f"{stream}:inflight"
        # In the process (no Redis, or Redis failing): entry id -> (written at, entry).
        self._local: dict[str, tuple[float, str]] = {}
        self._task: asyncio.Task[None] | None = None
        # Notes of calls about to be sent, written together (see ``begin``).
        self._notes: dict[str, str] = {}
        self._noted: asyncio.Future[None] | None = None
        self._noting: asyncio.Task[None] | None = None

    def _alive_key(self, consumer: str) -> str:
        return f"{self.stream}:alive:{consumer}"

    async def begin(self, payer: Payer, segment_index: int | None, call: CallRecord) -> None:
        """Note a call about to be sent (``call`` is what it is recorded as if its answer
        is never seen); returns once the note is in Redis. Without Redis nothing outlives
        the process: nothing to note.

        Calls that start while a note is being written are noted together, in one HSET
        (a group commit): a batch of calls makes a few round trips instead of one each."""
        if self.redis is None or not call.call_id:
            return
        body = json.dumps(
            {
                "owner": self.consumer,
                "at": time.time(),
                "entry": _entry(payer, segment_index, call),
            },
            separators=(",", ":"),
        )
        if self._noted is None:
            self._noted = asyncio.get_running_loop().create_future()
        noted, notes = self._noted, self._notes
        notes[call.call_id] = body
        if self._noting is None or self._noting.done():
            self._noting = asyncio.create_task(self._write_notes(), name="usage-journal-notes")
        try:
            await asyncio.shield(noted)
        except asyncio.CancelledError:
            notes.pop(call.call_id, None)  # not written yet: never sent, never noted
            raise

    async def _write_notes(self) -> None:
        assert self.redis is not None
        while self._notes:
            notes, noted = self._notes, self._noted
            self._notes, self._noted = {}, None
            try:
                await self.redis.hset(self.inflight, mapping=notes)
            except Exception as exc:  # as before: the call goes out, unnoted, and is logged
                log.warning(
                    "usage journal: could not note calls in flight (%s)", type(exc).__name__
                )
            finally:  # even when cancelled: no caller waits forever
                if noted is not None and not noted.done():
                    noted.set_result(None)

    async def append(
        self,
        payer: Payer,
        segment_index: int | None,
        calls: Sequence[CallRecord],
        *,
        finished: Sequence[str] = (),
    ) -> list[str]:
        """Write the calls down (durably with Redis) before their answers are used, and
        take the ``finished`` call ids off the in-flight list in the same transaction;
        returns the entries' ids, for ``forget`` once a result carried the calls."""
        entries = [_entry(payer, segment_index, c) for c in calls if c.call_id]
        if not entries and not finished:
            return []
        if self.redis is not None:
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    for entry in entries:
                        pipe.xadd(self.stream, {"e": entry})
                    if finished:
                        pipe.hdel(self.inflight, *finished)
                    ids = (await pipe.execute())[: len(entries)]
                return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
            except RedisError as exc:
                log.warning("usage journal: Redis unavailable (%s); kept in process", exc)
                # Kept in process, relayed from here: not to be recorded as lost too.
                with contextlib.suppress(RedisError):
                    if finished:
                        await self.redis.hdel(self.inflight, *finished)
        if not entries:
            return []
        now = time.monotonic()
        ids = [f"local-{uuid.uuid4().hex}" for _ in entries]
        self._local.update({i: (now, e) for i, e in zip(ids, entries, strict=True)})
        return ids

    async def forget(self, ids: Sequence[str]) -> None:
        """These calls reached translation-service with their command's result."""
        remote = []
        for entry_id in ids:
            if self._local.pop(entry_id, None) is None:
                remote.append(entry_id)
        if remote and self.redis is not None:
            try:
                await self.redis.xdel(self.stream, *remote)
            except RedisError as exc:  # the relay reports them: counted once all the same
                log.warning("usage journal: could not forget entries (%s)", type(exc).__name__)

    # ---- the relay -------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-journal-relay")

    async def stop(self, drain_s: float = 5.0) -> None:
        """Publish what only this process holds (the Redis stream outlives us anyway)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(drain_s):
                await self._relay_local(older_than_s=0.0)
        if self.redis is not None:  # gone: a call still noted in flight is lost at once
            with contextlib.suppress(Exception):
                await self.redis.delete(self._alive_key(self.consumer))

    async def _beat(self) -> None:
        assert self.redis is not None
        ttl_ms = int(self.linger_s * ALIVE_LINGERS * 1000)
        await self.redis.set(self._alive_key(self.consumer), "1", px=ttl_ms)

    async def _run(self) -> None:
        while True:
            try:
                if self.redis is not None:
                    await self._beat()
                await asyncio.sleep(self.linger_s / 2)
                await self._relay_local(older_than_s=self.linger_s)
                if self.redis is not None:
                    await self._relay_stream()
                    await self._relay_lost()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker or Redis is away: try again shortly
                log.warning("usage journal: relay paused (%s)", type(exc).__name__)
                await asyncio.sleep(RETRY_S)

    async def _relay_local(self, older_than_s: float) -> None:
        before = time.monotonic() - older_than_s
        due = [(i, e) for i, (at, e) in list(self._local.items()) if at <= before]
        for start in range(0, len(due), BATCH):
            batch = due[start : start + BATCH]
            await self._publish([e for _, e in batch])
            for entry_id, _ in batch:
                self._local.pop(entry_id, None)

    async def _relay_stream(self) -> None:
        """Entries older than the linger time: their commands never reported them."""
        assert self.redis is not None
        lock = f"{self.stream}:relay"
        if not await self.redis.set(lock, self.consumer, nx=True, px=int(self.linger_s * 1000)):
            return  # another replica is relaying
        try:
            seconds, micros = await self.redis.time()
            cutoff_ms = int(seconds) * 1000 + int(micros) // 1000 - int(self.linger_s * 1000)
            while True:
                entries = await self.redis.xrange(
                    self.stream, min="-", max=str(cutoff_ms), count=BATCH
                )
                if not entries:
                    return
                bodies = []
                for _, fields in entries:
                    raw = fields.get(b"e") or fields.get("e")
                    if raw is not None:
                        bodies.append(raw.decode() if isinstance(raw, bytes) else raw)
                await self._publish(bodies)
                await self.redis.xdel(self.stream, *[entry_id for entry_id, _ in entries])
                if len(entries) < BATCH:
                    return
        finally:
            with contextlib.suppress(RedisError):
                if (await self.redis.get(lock)) in (self.consumer, self.consumer.encode()):
                    await self.redis.delete(lock)

    async def _relay_lost(self) -> None:
        """Calls noted in flight by replicas that are gone: record each once, estimated."""
        assert self.redis is not None
        lock = f"{self.stream}:relay-lost"
        if not await self.redis.set(lock, self.consumer, nx=True, px=int(self.linger_s * 1000)):
            return
        try:
            noted = await self.redis.hgetall(self.inflight)
            if not noted:
                return
            calls: list[tuple[str, dict]] = []
            for raw_id, raw in noted.items():
                call_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
                try:
                    calls.append((call_id, json.loads(raw)))
                except ValueError:
                    calls.append((call_id, {}))
            owners = sorted({c.get("owner", "") for _, c in calls} - {self.consumer})
            async with self.redis.pipeline(transaction=False) as pipe:
                for owner in owners:
                    pipe.exists(self._alive_key(owner))
                alive = {o for o, up in zip(owners, await pipe.execute(), strict=True) if up}
            alive.add(self.consumer)
            now = time.time()
            lost = [
                (call_id, c)
                for call_id, c in calls
                if c.get("owner") not in alive or now - float(c.get("at", 0)) > STALE_S
            ]
            for start in range(0, len(lost), BATCH):
                batch = lost[start : start + BATCH]
                await self._publish([c["entry"] for _, c in batch if "entry" in c])
                await self.redis.hdel(self.inflight, *[call_id for call_id, _ in batch])
                log.warning(
                    "usage journal: %d call(s) lost with their worker, estimated", len(batch)
                )
        finally:
            with contextlib.suppress(RedisError):
                if (await self.redis.get(lock)) in (self.consumer, self.consumer.encode()):
                    await self.redis.delete(lock)

    async def _publish(self, bodies: list[str]) -> None:
        groups: dict[tuple[int, int | None] | AnalysisOwner, list[CallRecord]] = defaultdict(list)
        for body in bodies:
            try:
                data = json.loads(body)
                call = CallRecord.model_validate(data["call"])
                if "job" in data:
                    groups[(int(data["job"]), data.get("segment"))].append(call)
                else:
                    owner = AnalysisOwner(str(data["owner_id"]), bool(data["allowance"]))
                    groups[owner].append(call)
            except (ValueError, KeyError, TypeError):
                log.error("usage journal: unreadable entry dropped")
        for whose, calls in groups.items():
            event: CallsRecorded | AnalysisCallsRecorded
            if isinstance(whose, AnalysisOwner):
                event = AnalysisCallsRecorded(
                    owner_id=whose.owner_id, allowance=whose.allowance, calls=calls
                )
                correlation = "analysis"
            else:
                event = CallsRecorded(job_id=whose[0], segment_index=whose[1], calls=calls)
                correlation = f"job-{whose[0]}"
            ids = ",".join(sorted(c.call_id or "" for c in calls))
            await self.publisher.publish(
                event, message_id=uuid.uuid5(_NAMESPACE, ids), correlation_id=correlation
            )
