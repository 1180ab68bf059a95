"""Task monitoring from the worker's side: every run of a work command is reported.

:meth:`TaskReports.run` wraps a command handler: it reports the run as started, passes
the engine's progress on (at most one report every ``progress_interval_s``), and reports
how the run ended: succeeded or failed (from the result event the handler published),
cancelled (the job was cancelled), or retried (the handler raised: the broker redelivers
the command, or it was deferred). The task's id is the command's message id, which stays
the same through redeliveries and deferrals.

Each report costs translation-service a transaction, so a run says no more than anyone
can see: its start is reported only once it has lasted ``started_delay_s`` (or has
progress to report), and a success rides on the result event itself
(:func:`with_task_run`, ``task`` on ``JobPlanned``, ``SegmentTranslated``,
``JobAssembled``), with the start when it was not reported. A segment that is translated
in less than ``started_delay_s`` sends no task event at all.

Reports are published directly (the worker has no database) with ids derived from the
command's and the run's, so a redone run repeats its ids and translation-service's inbox
drops the copies. Progress is best effort; the other reports are published like results.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
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
    TaskRun,
    TaskStarted,
    TaskSucceeded,
    task_of,
)
from folio.messaging import Defer, Delivery, Publisher, derived_message_id
from folio_worker.control import JobControl
from folio_worker.engine import progress

log = logging.getLogger(__name__)

FAILURES = (JobPlanningFailed, SegmentTranslationFailed, JobAssemblyFailed)


def _now() -> datetime:
    return datetime.now(UTC)


class _Run:
    """One run of one command: its start report (sent late or never) and its success."""

    def __init__(self, reports: TaskReports, command: Any, delivery: Delivery) -> None:
        self.reports = reports
        self.delivery = delivery
        self.job_id = command.job_id
        self.fields = {
            "task_id": str(delivery.envelope.message_id),
            "job_id": command.job_id,
            **task_of(command)._asdict(),
            "deferrals": delivery.deferrals,
            "delivery": delivery.delivery_count,
        }
        self.key = f"{delivery.deferrals}-{delivery.delivery_count}"
        self.began = time.monotonic()
        self.started = TaskStarted(
            **self.fields, at=_now(), queued_at=delivery.envelope.occurred_at
        )
        self.start_sent = False
        self.folded = False  # the success went out on the result event
        self._lock = asyncio.Lock()
        self._later: asyncio.Task | None = None
        self._last_progress = self.began

    def duration(self) -> float:
        return time.monotonic() - self.began

    async def publish(self, event: TaskEvent, purpose: str) -> None:
        await self.reports.publisher.publish(
            event,
            message_id=derived_message_id(self.delivery.envelope.message_id, purpose),
            correlation_id=self.delivery.envelope.correlation_id,
        )

    async def report_start(self) -> None:
        async with self._lock:
            if not self.start_sent:
                await self.publish(self.started, f"task-started-{self.key}")
                self.start_sent = True

    async def begin(self) -> None:
        delay = self.reports.started_delay_s
        if delay <= 0:
            await self.report_start()
            return

        async def later() -> None:
            await asyncio.sleep(delay)
            try:
                await self.report_start()
            except Exception as exc:  # the end will say when the run started
                log.warning("task %s: start report not sent: %s", self.fields["task_id"], exc)

        self._later = asyncio.create_task(later())

    def abandon(self) -> None:
        if self._later is not None:
            self._later.cancel()

    async def settle_start(self, *, fold: bool) -> datetime | None:
        """Stop the pending start report. A folded end carries the start itself (the time
        returned); any other end is preceded by it, as it happened."""
        if self._later is not None:
            if not self._lock.locked():
                self._later.cancel()  # still waiting: never sent
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._later  # or being sent: let it finish
        if self.start_sent:
            return None
        if fold:
            return self.started.at
        await self.report_start()
        return None

    async def on_progress(self, done: int, total: int, message: str | None) -> None:
        now = time.monotonic()
        if done >= total or now - self._last_progress < self.reports.progress_interval_s:
            return
        self._last_progress = now
        event = TaskProgressed(**self.fields, at=_now(), done=done, total=total, message=message)
        try:
            await self.report_start()  # progress never arrives before its start
            await self.publish(event, f"task-progress-{self.key}-{done}")
        except Exception as exc:  # monitoring must never stop the work
            log.warning("task %s: progress report not sent: %s", self.fields["task_id"], exc)

    async def fold(self, event: Event) -> Event:
        """The result event with this run's success on it (not for a cancelled job: its
        run ends cancelled)."""
        if await self.reports.control.is_cancelled(self.job_id):
            await self.settle_start(fold=False)
            return event
        started_at = await self.settle_start(fold=True)
        run = TaskRun(
            task_id=self.fields["task_id"],
            name=self.fields["name"],
            deferrals=self.delivery.deferrals,
            delivery=self.delivery.delivery_count,
            at=_now(),
            duration_s=self.duration(),
            started_at=started_at,
            queued_at=self.delivery.envelope.occurred_at if started_at else None,
        )
        self.folded = True
        return event.model_copy(update={"task": run})


_current: ContextVar[_Run | None] = ContextVar("folio_task_run", default=None)


async def with_task_run(event: Event) -> Event:
    """``event`` as the result of the run in progress: with the run's success on it when
    the event can carry it (``task``); any other result follows the run's start report."""
    run = _current.get()
    if run is None:
        return event
    if "task" not in type(event).model_fields:
        await run.settle_start(fold=False)
        return event
    return await run.fold(event)


class TaskReports:
    def __init__(
        self,
        publisher: Publisher,
        control: JobControl,
        *,
        progress_interval_s: float = 2.0,
        started_delay_s: float = 1.0,
    ) -> None:
        self.publisher = publisher
        self.control = control
        self.progress_interval_s = progress_interval_s
        self.started_delay_s = started_delay_s

    async def run(
        self,
        command: Any,
        delivery: Delivery,
        work: Callable[[], Awaitable[Event | None]],
    ) -> None:
        run = _Run(self, command, delivery)
        if await self.control.is_cancelled(command.job_id):
            await run.publish(TaskCancelled(**run.fields, at=_now()), f"task-end-{run.key}")
            await work()  # drops the command (and says so in its own way)
            return
        await run.begin()
        token = _current.set(run)
        try:
            with progress.reporting(run.on_progress):
                outcome = await work()
        except Defer as defer:
            await run.settle_start(fold=False)
            await run.publish(
                TaskRetried(
                    **run.fields,
                    at=_now(),
                    reason=f"Waiting for the model provider: {defer.reason}",
                    retry_at=_now() + timedelta(seconds=defer.delay_s),
                    duration_s=run.duration(),
                ),
                f"task-end-{run.key}",
            )
            raise
        except Exception as exc:
            # The error's text stays in the logs (it may hold anything).
            await run.settle_start(fold=False)
            await run.publish(
                TaskRetried(
                    **run.fields,
                    at=_now(),
                    reason=f"An internal error ({type(exc).__name__}); the work is retried.",
                    duration_s=run.duration(),
                ),
                f"task-end-{run.key}",
            )
            raise
        except BaseException:  # shutting down: the redelivered command reports afresh
            run.abandon()
            raise
        finally:
            _current.reset(token)
        if run.folded:
            return  # the result said it
        end: TaskEvent
        await run.settle_start(fold=False)
        if outcome is None or await self.control.is_cancelled(command.job_id):
            end = TaskCancelled(**run.fields, at=_now(), duration_s=run.duration())
        elif isinstance(outcome, FAILURES):
            end = TaskFailed(
                **run.fields, at=_now(), reason=outcome.reason[:2000], duration_s=run.duration()
            )
        else:
            end = TaskSucceeded(**run.fields, at=_now(), duration_s=run.duration())
        await run.publish(end, f"task-end-{run.key}")
