"""A minimal server-sent-events reader for tests (what a browser's EventSource parses)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx


@dataclass
class Event:
    data: str = ""
    id: str | None = None
    event: str | None = None
    fields: list[str] = field(default_factory=list)


class EventStream:
    """Reads one stream in the background; events and comments land in queues."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.comments: asyncio.Queue[str] = asyncio.Queue()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        current = Event()
        async for line in self.response.aiter_lines():
            if line == "":
                if current.fields:
                    await self.events.put(current)
                current = Event()
            elif line.startswith(":"):
                await self.comments.put(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                current.fields.append(name)
                if name == "data":
                    current.data = f"{current.data}\n{value}" if current.data else value
                elif name == "id":
                    current.id = value
                elif name == "event":
                    current.event = value

    async def next_event(self, timeout_s: float) -> Event:
        return await asyncio.wait_for(self.events.get(), timeout=timeout_s)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[EventStream]:
    async with client.stream("GET", url, headers=headers or {}, timeout=None) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        try:
            yield stream
        finally:
            await stream.close()
