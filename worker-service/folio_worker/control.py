"""Cancelled jobs: their queued work is dropped and their work in flight ends within seconds.

translation-service publishes ``JobCancelled`` once; one replica consumes it
(``worker-service.control``), remembers the job here and, with Redis, where every replica
looks (``<prefix>:cancelled:<job>``). Every command handler asks :meth:`is_cancelled`
before it starts (a Redis ``EXISTS``) and runs its work inside :meth:`running`, which
registers the task; a watcher asks Redis every ``poll_s`` about the jobs this replica is
working on and cancels their tasks, so a call in flight on any replica ends within about a
second. Without Redis (one process) only the local set is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

REMEMBER_S = 7 * 24 * 3600.0  # longer than any command waits in a queue


class WorkCancelled(Exception):
    """The job was cancelled while this work ran (its task was cancelled for it)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} was cancelled")
        self.job_id = job_id
        self.reason = "The job was cancelled."


class JobControl:
    def __init__(
        self,
        redis: aioredis.Redis | None = None,
        *,
        prefix: str = "folio",
        poll_s: float = 1.0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.poll_s = poll_s
        self._cancelled: dict[int, float] = {}  # job id -> when (monotonic)
        self._running: dict[int, set[asyncio.Task[object]]] = {}
        self._stopping: set[asyncio.Task[object]] = set()
        self._watcher: asyncio.Task[None] | None = None

    def _key(self, job_id: int) -> str:
        return f"{self.prefix}:cancelled:{job_id}"

    async def cancel(self, job_id: int) -> None:
        """Remember the job as cancelled (here and for every replica) and stop its work."""
        self._remember(job_id)
        if self.redis is not None:
            try:
                await self.redis.set(self._key(job_id), "1", ex=int(REMEMBER_S))
            except RedisError as exc:
                # The broker redelivers the event until this succeeds: the other replicas
                # must learn it too.
                raise RuntimeError(f"cannot record the cancellation of job {job_id}") from exc
        self._stop(job_id)

    async def is_cancelled(self, job_id: int) -> bool:
        if job_id in self._cancelled:
            return True
        if self.redis is None:
            return False
        try:
            found = bool(await self.redis.exists(self._key(job_id)))
        except RedisError:
            return False  # Redis is an optimisation; the work goes ahead
        if found:
            self._remember(job_id)
        return found

    @contextlib.asynccontextmanager
    async def running(self, job_id: int) -> AsyncIterator[None]:
        """Run work of the job; :class:`WorkCancelled` if the job is cancelled meanwhile."""
        task = asyncio.current_task()
        assert task is not None
        self._running.setdefault(job_id, set()).add(task)
        try:
            yield
        except asyncio.CancelledError:
            if task not in self._stopping:
                raise  # a shutdown, not our cancellation
            task.uncancel()
            raise WorkCancelled(job_id) from None
        finally:
            self._stopping.discard(task)
            tasks = self._running.get(job_id)
            if tasks is not None:
                tasks.discard(task)
                if not tasks:
                    del self._running[job_id]

    def _remember(self, job_id: int) -> None:
        now = time.monotonic()
        self._cancelled[job_id] = now
        if len(self._cancelled) > 10_000:  # forget the oldest: Redis still knows them
            for old in sorted(self._cancelled, key=self._cancelled.__getitem__)[:1000]:
                del self._cancelled[old]

    def _stop(self, job_id: int) -> None:
        for task in self._running.get(job_id, ()):
            if task not in self._stopping:
                log.info("job %s cancelled: stopping its work in flight", job_id)
                self._stopping.add(task)
                task.cancel()

    # -- the watcher (other replicas' cancellations) -----------------------------------

    async def start(self) -> None:
        if self.redis is not None and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="job-control")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    async def _watch(self) -> None:
        assert self.redis is not None
        while True:
            await asyncio.sleep(self.poll_s)
            jobs = [j for j in self._running if j not in self._cancelled]
            if not jobs:
                continue
            try:
                found = await self.redis.exists(*(self._key(j) for j in jobs))
                if not found:
                    continue
                flags = [bool(await self.redis.exists(self._key(j))) for j in jobs]
            except RedisError as exc:
                log.debug("cancellation check failed: %s", exc)
                continue
            for job_id, cancelled in zip(jobs, flags, strict=True):
                if cancelled:
                    self._remember(job_id)
                    self._stop(job_id)
