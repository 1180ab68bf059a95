"""Postgres LISTEN, held open and re-established, for in-process wake-ups.

NOTIFY is a hint, never the only path: whoever listens must also cope with missed
notifications (the connection can drop). ``on_connect`` callbacks run after every
(re)connection so listeners can catch up on what they may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

Callback = Callable[[str], None]


class PgListener:
    def __init__(self, url: str, *, application_name: str = "folio-listen") -> None:
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        self.application_name = application_name
        self._callbacks: dict[str, list[Callback]] = {}
        self._on_connect: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def listen(self, channel: str, callback: Callback) -> None:
        """``callback(payload)`` for every notification on ``channel`` (call before start)."""
        self._callbacks.setdefault(channel, []).append(callback)

    def on_connect(self, callback: Callable[[], None]) -> None:
        self._on_connect.append(callback)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pg-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _dispatch(self, channel: str, payload: str) -> None:
        for callback in self._callbacks.get(channel, []):
            try:
                callback(payload)
            except Exception:  # one listener's bug must not silence the others
                log.exception("LISTEN callback for %s failed", channel)

    async def _run(self) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, server_settings={"application_name": self.application_name}
                )
                closed = asyncio.Event()
                conn.add_termination_listener(lambda *_, done=closed: done.set())
                for channel in self._callbacks:
                    await conn.add_listener(
                        channel, lambda _c, _pid, ch, payload: self._dispatch(ch, payload)
                    )
                self.connected.set()
                for callback in self._on_connect:
                    callback()
                await closed.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("LISTEN connection unavailable (%s); retrying", exc)
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(2)
