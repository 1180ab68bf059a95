"""Live job updates for progress streams, without polling the database.

A trigger notifies on every change of a job row; one LISTEN connection per process wakes
whoever watches that job. A missed notification (a reconnect) wakes every watcher, which
then re-reads its job: watchers always end up with the latest state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from folio.db import Database
from folio.db.listen import PgListener


class JobWatch:
    def __init__(self, database: Database) -> None:
        self.listener = PgListener(database.url, application_name="job-events")
        self.listener.listen(f"folio_jobs_{database.schema}", self._changed)
        self.listener.on_connect(self._wake_all)
        self._watchers: dict[int, set[asyncio.Event]] = {}

    async def start(self) -> None:
        self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

    def _changed(self, payload: str) -> None:
        if payload.isdigit():
            for event in self._watchers.get(int(payload), ()):
                event.set()

    def _wake_all(self) -> None:
        for events in self._watchers.values():
            for event in events:
                event.set()

    @contextmanager
    def watch(self, job_id: int) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._watchers.setdefault(job_id, set()).add(event)
        try:
            yield event
        finally:
            watchers = self._watchers.get(job_id)
            if watchers is not None:
                watchers.discard(event)
                if not watchers:
                    del self._watchers[job_id]
