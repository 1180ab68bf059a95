"""The live announcements feed of one process, for its server-sent-event clients.

The process keeps the current list of active announcements and pushes it to every
client connected to it. It re-reads the list from the database when its own broadcast
queue says something changed (every replica has one, so a change made through any
replica reaches the clients of all of them within milliseconds) and, as a safety net,
every ``refresh_s``. An event carries no data: the database is read after the change has
committed, so a late or reordered event can only lead to the newest state.

Each state has an id (a digest of its JSON), sent as the SSE ``id:``: a client that
reconnects with ``Last-Event-ID`` is sent the list again only if it changed meanwhile,
whichever replica it reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from folio.db import Database
from folio_users.repository import AnnouncementRepository
from folio_users.service.announcements import serialise

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedState:
    id: str
    data: str


class Subscriber:
    def __init__(self) -> None:
        self.changed = asyncio.Event()


class AnnouncementFeed:
    def __init__(self, database: Database, *, refresh_s: float = 30.0) -> None:
        self.database = database
        self.refresh_s = refresh_s
        self.state: FeedState | None = None
        self._subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await self.refresh()
        self._task = asyncio.create_task(self._run(), name="announcement-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for subscriber in self._subscribers:
            subscriber.changed.set()

    def changed(self) -> None:
        """Something changed somewhere: re-read (called for each broadcast event)."""
        self._wake.set()

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscriber]:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def refresh(self) -> None:
        async with self.database.sessions() as session:
            rows = await AnnouncementRepository(session).active()  # type: ignore[arg-type]
        data = serialise(rows)
        state = FeedState(id=hashlib.sha256(data).hexdigest()[:16], data=data.decode())
        self.ready.set()
        if self.state is not None and state.id == self.state.id:
            return
        self.state = state
        for subscriber in self._subscribers:
            subscriber.changed.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.refresh_s)
            self._wake.clear()
            try:
                await self.refresh()
            except Exception as exc:  # the database may be away for a moment
                log.warning("announcement feed: refresh failed: %s", exc)
                await asyncio.sleep(1.0)
                self._wake.set()
