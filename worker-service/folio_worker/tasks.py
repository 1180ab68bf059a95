"""Task monitoring from the worker's side: every run of a work command is reported.

:meth:`TaskReports.run` wraps a command handler: it reports the run as started, passes
the engine's progress on (at most one report every ``progress_interval_s``), and reports
how the run ended: succeeded or failed (from the result event the handler published),
cancelled (the job was cancelled), or retried (the handler raised: the broker redelivers
the command, or it was deferred). The task's id is the command's message id, which stays
the same through redeliveries and deferrals.

Reports are published directly (the worker has no database) with ids derived from the
command's and the run's, so a redone run repeats its ids and translation-service's inbox
drops the copies. Progress is best effort; the other reports are published like results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from folio.contracts import (
    Event,
    JobAssemblyFailed,
    JobPlanningFailed,
    SegmentTranslationFailed,
    TaskCancelled,
    TaskEvent,
    TaskFailed,
    TaskProgressed,
    TaskRetried,
    TaskStarted,
    TaskSucceeded,
    task_name,
)
from folio.messaging import Defer, Delivery, Publisher, derived_message_id
from folio_worker.control import JobControl
from folio_worker.engine import progress

log = logging.getLogger(__name__)

FAILURES = (JobPlanningFailed, SegmentTranslationFailed, JobAssemblyFailed)


def _now() -> datetime:
    return datetime.now(UTC)


class TaskReports:
    def __init__(
        self, publisher: Publisher, control: JobControl, *, progress_interval_s: float = 2.0
    ) -> None:
        self.publisher = publisher
        self.control = control
        self.progress_interval_s = progress_interval_s

    async def run(
        self,
        command: Any,
        delivery: Delivery,
        work: Callable[[], Awaitable[Event | None]],
    ) -> None:
        fields = {
            "task_id": str(delivery.envelope.message_id),
            "job_id": command.job_id,
            "name": task_name(command.TYPE),
            "segment_index": getattr(command, "segment_index", None),
            "deferrals": delivery.deferrals,
            "delivery": delivery.delivery_count,
        }
        run = f"{delivery.deferrals}-{delivery.delivery_count}"
        if await self.control.is_cancelled(command.job_id):
            await self._publish(TaskCancelled(**fields, at=_now()), delivery, f"task-end-{run}")
            await work()  # drops the command (and says so in its own way)
            return
        started_at = time.monotonic()
        await self._publish(
            TaskStarted(**fields, at=_now(), queued_at=delivery.envelope.occurred_at),
            delivery,
            f"task-started-{run}",
        )
        last_report = started_at

        async def on_progress(done: int, total: int, message: str | None) -> None:
            nonlocal last_report
            now = time.monotonic()
            if done >= total or now - last_report < self.progress_interval_s:
                return
            last_report = now
            event = TaskProgressed(**fields, at=_now(), done=done, total=total, message=message)
            try:
                await self._publish(event, delivery, f"task-progress-{run}-{done}")
            except Exception as exc:  # monitoring must never stop the work
                log.warning("task %s: progress report not sent: %s", fields["task_id"], exc)

        try:
            with progress.reporting(on_progress):
                outcome = await work()
        except Defer as defer:
            await self._publish(
                TaskRetried(
                    **fields,
                    at=_now(),
                    reason=f"Waiting for the model provider: {defer.reason}",
                    retry_at=_now() + timedelta(seconds=defer.delay_s),
                    duration_s=time.monotonic() - started_at,
                ),
                delivery,
                f"task-end-{run}",
            )
            raise
        except Exception as exc:
            # The error's text stays in the logs (it may hold anything).
            await self._publish(
                TaskRetried(
                    **fields,
                    at=_now(),
                    reason=f"An internal error ({type(exc).__name__}); the work is retried.",
                    duration_s=time.monotonic() - started_at,
                ),
                delivery,
                f"task-end-{run}",
            )
            raise
        duration = time.monotonic() - started_at
        end: TaskEvent
        if outcome is None or await self.control.is_cancelled(command.job_id):
            end = TaskCancelled(**fields, at=_now(), duration_s=duration)
        elif isinstance(outcome, FAILURES):
            end = TaskFailed(**fields, at=_now(), reason=outcome.reason[:2000], duration_s=duration)
        else:
            end = TaskSucceeded(**fields, at=_now(), duration_s=duration)
        await self._publish(end, delivery, f"task-end-{run}")

    async def _publish(self, event: TaskEvent, delivery: Delivery, purpose: str) -> None:
        await self.publisher.publish(
            event,
            message_id=derived_message_id(delivery.envelope.message_id, purpose),
            correlation_id=delivery.envelope.correlation_id,
        )
