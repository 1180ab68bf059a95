"""Following a job for a live progress stream: the job as it is, then each time it changes.

A database trigger wakes the watchers of a job (:mod:`folio_translation.events`). A busy
job changes many times a second, so progress alone is re-read at most every
``PROGRESS_INTERVAL_S``; a new status is re-read at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from folio.db import Database
from folio_translation import lifecycle
from folio_translation.events import JobWatch
from folio_translation.repository import JobRepository
from folio_translation.schemas import JobPublic

HEARTBEAT_S = 15.0
PROGRESS_INTERVAL_S = 0.5
STREAM_LIMIT_S = 6 * 3600.0


class JobProgress:
    def __init__(self, database: Database, watch: JobWatch) -> None:
        self.database = database
        self.watch = watch

    async def follow(
        self, job_id: int, gone: Callable[[], Awaitable[bool]]
    ) -> AsyncIterator[JobPublic | None]:
        """The job whenever it changed, ``None`` for a keep-alive after ``HEARTBEAT_S``
        without change. Ends when the job is final or gone, after ``STREAM_LIMIT_S``, or
        when ``gone()`` says the follower left. The caller checked the job is visible."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_LIMIT_S
        last: JobPublic | None = None
        with self.watch.watch(job_id) as signal:
            while loop.time() < deadline:
                signal.clear()
                read_at = loop.time()
                async with self.database.sessions() as session:
                    row = await JobRepository(session).public_view(job_id)  # type: ignore[arg-type]
                if row is None:
                    return
                signal.seen_status = row["status"]
                job = JobPublic.of(row)
                if job != last:
                    yield job
                    last = job
                if lifecycle.state_from(row["status"], row["phase"]).final:
                    return
                try:
                    await asyncio.wait_for(signal.changed.wait(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield None
                pause = read_at + PROGRESS_INTERVAL_S - loop.time()
                if pause > 0 and not signal.status_changed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(signal.status_changed.wait(), timeout=pause)
                if await gone():
                    return
