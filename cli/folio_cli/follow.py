"""Following a job's server-sent events to its end, reconnecting with ``Last-Event-ID``
when the stream drops (every event after the last one seen is sent again, none twice)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from folio_cli.errors import CliError, ExitCode
from folio_cli.gateway import Gateway

FINAL = ("COMPLETED", "FAILED", "CANCELLED")
STOPPED = (*FINAL, "PAUSED")  # the stream goes on while paused; a client stops there
RECONNECT_ATTEMPTS = 30
# Keep-alives come every 15 s: a minute of silence means the connection is gone.
READ_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class JobEvent:
    kind: str  # "status", "segment" or "job"
    data: dict[str, Any]


def follow(
    gateway: Gateway,
    job_id: int,
    *,
    after: int | None = 0,
    on_reconnect: Callable[[int | None], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[JobEvent]:
    """The job's events from number ``after`` on (0: since the job began) until a ``job``
    event shows it stopped (completed, failed, cancelled or paused)."""
    last_id = after
    failures = 0
    retry_s = 2.0
    while True:
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        try:
            with gateway.stream(
                f"/jobs/{job_id}/events",
                headers=headers,
                timeout=httpx.Timeout(10.0, read=READ_TIMEOUT_S),
            ) as response:
                for sse in EventSource(response).iter_sse():
                    if sse.retry:
                        retry_s = sse.retry / 1000
                    if sse.id:
                        last_id = int(sse.id)
                    if sse.event not in ("status", "segment", "job"):
                        continue
                    failures = 0
                    data = json.loads(sse.data)
                    yield JobEvent(sse.event, data)
                    if sse.event == "job" and data.get("status") in STOPPED:
                        return
        except CliError as exc:
            if exc.code not in (ExitCode.UNREACHABLE, ExitCode.SERVER):
                raise  # 401, 404...: reconnecting would not help
            error: Exception = exc
        except (httpx.TransportError, SSEError, ValueError) as exc:
            error = exc
        else:
            error = CliError("the event stream ended early", ExitCode.SERVER)
        failures += 1
        if failures > RECONNECT_ATTEMPTS:
            if isinstance(error, CliError):
                raise error
            raise CliError(
                f"lost the job's event stream: {type(error).__name__}", ExitCode.UNREACHABLE
            )
        on_reconnect(last_id)
        sleep(min(retry_s * failures, 15.0))
