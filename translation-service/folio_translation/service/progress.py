"""Following a job for a live stream: its status changes and segment completions, each
numbered, and the job as it is.

Every change of a job's state and every stored translation is a row of ``job_events``
numbered per job in commit order (the numbers are given under the job's row lock). A
follower that reconnects with the last number it saw gets every event after it, with no
gap and no duplicate. Between events it is also sent the job itself (``job``), at most
every ``PROGRESS_INTERVAL_S`` unless the status changed; a database trigger wakes the
followers of a job (:mod:`folio_translation.events`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from folio.db import Database
from folio_translation import lifecycle
from folio_translation.events import JobWatch
from folio_translation.repository import JobEventRepository, JobRepository, SegmentRepository
from folio_translation.schemas import JobPublic

HEARTBEAT_S = 15.0
PROGRESS_INTERVAL_S = 0.5
STREAM_LIMIT_S = 6 * 3600.0
BATCH = 1000  # events per read; a long backlog is sent in several reads


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event: ``id`` is the job's event number it reflects."""

    kind: str  # "status", "segment", "job"; "" for a keep-alive
    id: int | None = None
    data: Any = None


class JobProgress:
    def __init__(self, database: Database, watch: JobWatch) -> None:
        self.database = database
        self.watch = watch

    async def current_seq(self, job_id: int) -> int:
        async with self.database.sessions() as session:
            row = await JobRepository(session).public_view(job_id)
        return int(row["event_seq"]) if row else 0

    async def follow(
        self,
        job_id: int,
        gone: Callable[[], Awaitable[bool]],
        after: int | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """The job's events after number ``after`` (``None``: from now on), and the job
        whenever it changed. Ends when the job is final and everything was sent, or gone,
        after ``STREAM_LIMIT_S``, or when ``gone()`` says the follower left. The caller
        checked the job is visible."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_LIMIT_S
        last: JobPublic | None = None
        # Marked segments change only with a segment event: read again when events came.
        failures: list[dict[str, Any]] = []
        failures_seq: int | None = None
        with self.watch.watch(job_id) as signal:
            while loop.time() < deadline:
                signal.clear()
                read_at = loop.time()
                async with self.database.sessions() as session:
                    row = await JobRepository(session).public_view(job_id)
                    if row is None:
                        return
                    upto = int(row["event_seq"])
                    after = upto if after is None else after
                    events = await JobEventRepository(session).between(job_id, after, upto, BATCH)
                    if failures_seq != upto:
                        failures = await SegmentRepository(session).failures(job_id)
                        failures_seq = upto
                for seq, kind, data in events:
                    yield StreamEvent(kind, seq, data)
                    after = seq
                if after < upto:
                    continue  # more backlog to send before the job itself
                signal.seen_status = row["status"]
                final = lifecycle.state_from(row["status"], row["phase"]).final
                if final:
                    # The last word is the whole job, as GET /jobs/{id} shows it (glossary
                    # included); progress reads skip the large context.
                    async with self.database.sessions() as session:
                        whole = await JobRepository(session).get(job_id)
                    job = JobPublic.of(whole if whole is not None else row, failures)
                else:
                    job = JobPublic.of(row, failures)
                if job != last:
                    yield StreamEvent("job", upto, job)
                    last = job
                if final:
                    return
                try:
                    await asyncio.wait_for(signal.changed.wait(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield StreamEvent("")
                pause = read_at + PROGRESS_INTERVAL_S - loop.time()
                if pause > 0 and not signal.status_changed.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(signal.status_changed.wait(), timeout=pause)
                if await gone():
                    return
