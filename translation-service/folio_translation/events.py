"""Live job updates for progress streams, without polling the database.

A trigger notifies ``<job id>:<status>`` on every change of a job row; one LISTEN
connection per process wakes whoever watches that job. A missed notification (a
reconnect) wakes every watcher, which then re-reads its job: watchers always end up with
the latest state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from folio.db import Database
from folio.db.listen import PgListener


class JobSignal:
    """What one watcher is told: something changed, and whether the status did."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.status_changed = asyncio.Event()
        self.seen_status: str | None = None  # the status the watcher last read

    def notify(self, status: str | None) -> None:
        self.changed.set()
        if status is None or status != self.seen_status:
            self.status_changed.set()

    def clear(self) -> None:
        """Before each read: a change during the read wakes the watcher again."""
        self.changed.clear()
        self.status_changed.clear()


class JobWatch:
    def __init__(self, database: Database) -> None:
        self.listener = PgListener(database.url, application_name="job-events")
        self.listener.listen(f"folio_jobs_{database.schema}", self._changed)
        self.listener.on_connect(self._wake_all)
        self._watchers: dict[int, set[JobSignal]] = {}

    async def start(self) -> None:
        self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

    def _changed(self, payload: str) -> None:
        job, _, status = payload.partition(":")
        if job.isdigit():
            for signal in self._watchers.get(int(job), ()):
                signal.notify(status or None)

    def _wake_all(self) -> None:
        for signals in self._watchers.values():
            for signal in signals:
                signal.notify(None)

    @contextmanager
    def watch(self, job_id: int) -> Iterator[JobSignal]:
        signal = JobSignal()
        self._watchers.setdefault(job_id, set()).add(signal)
        try:
            yield signal
        finally:
            watchers = self._watchers.get(job_id)
            if watchers is not None:
                watchers.discard(signal)
                if not watchers:
                    del self._watchers[job_id]
