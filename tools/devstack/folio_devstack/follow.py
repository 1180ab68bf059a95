"""Following a job through its server-sent events (what a client's progress bar does)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "PAUSED")


async def job_updates(
    client: httpx.AsyncClient, job_id: int, headers: dict[str, str]
) -> AsyncIterator[dict]:
    """Each state of the job as it changes, ending with a terminal (or paused) one."""
    async with client.stream(
        "GET", f"/api/v1/jobs/{job_id}/events", headers=headers, timeout=None
    ) as response:
        response.raise_for_status()
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[len("event: ") :]
            elif line.startswith("data: ") and kind == "job":  # not status/segment events
                job = json.loads(line[len("data: ") :])
                yield job
                if job["status"] in TERMINAL:
                    return
