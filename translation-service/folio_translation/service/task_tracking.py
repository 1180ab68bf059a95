"""Task monitoring's bookkeeping: a row per work command sent, kept up to date by the
worker's task events.

Commands leave through :func:`send_work`, which stages them in the outbox and records
them as queued in the same transaction (so a task exists as soon as its command does).
The worker then reports each run (started, progress, retried, succeeded, failed,
cancelled); :class:`TaskTracker` applies those reports in order (an event older than the
one applied last changes nothing) and never reopens a finished task. A run that succeeded
comes with its result event (a ``TaskRun``), applied in the result's transaction by
:meth:`TaskTracker.run_succeeded`: usually one UPDATE, no message or transaction of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.contracts import (
    AssembleJob,
    PlanJob,
    TaskCancelled,
    TaskEvent,
    TaskFailed,
    TaskProgressed,
    TaskRetried,
    TaskRun,
    TaskStarted,
    TaskSucceeded,
    TranslateSegment,
    task_of,
)
from folio.messaging.topology import DEFAULT_DELIVERY_LIMIT
from folio_translation.models import TASK_FINISHED, Job, TaskExecution, TaskStatus, utcnow
from folio_translation.repository import JobRepository, TaskRepository
from folio_translation.service.deps import JobDeps

WorkCommand = PlanJob | TranslateSegment | AssembleJob
# A command is delivered at most this many times before it is dead-lettered.
MAX_RETRIES = DEFAULT_DELIVERY_LIMIT - 1


def _task_row(job: Job, command: WorkCommand, task_id: str) -> dict:
    now = utcnow()
    task = task_of(command)
    return {
        "id": task_id,
        "kind": task.kind,
        "name": task.name,
        "status": TaskStatus.PENDING.value,
        "job_id": job.id,
        "owner_id": job.owner_id,
        "segment_index": task.segment_index,
        "attempts": 0,
        "max_retries": MAX_RETRIES,
        "queue_time": now,
        "created_at": now,
        "updated_at": now,
    }


async def send_work(
    session: AsyncSession, deps: JobDeps, job: Job, commands: Sequence[WorkCommand]
) -> None:
    """Stage the job's commands in the outbox and record each as a queued task."""
    if not commands:
        return
    ids = await deps.outbox.add_many(session, list(commands), correlation_id=f"job-{job.id}")
    await TaskRepository(session).add_queued(
        [_task_row(job, command, str(i)) for command, i in zip(commands, ids, strict=True)]
    )


class TaskTracker:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tasks = TaskRepository(session)

    async def _row(self, event: TaskEvent) -> TaskExecution | None:
        row = await self.tasks.get_for_update(event.task_id)
        if row is not None or event.job_id is None:
            return row
        # A command sent before tasks were recorded: its first report creates the task.
        job = await JobRepository(self.session).get(event.job_id)
        if job is None:
            return None  # the job was deleted (its tasks with it)
        await self.tasks.add_queued(
            [
                {
                    "id": event.task_id,
                    "kind": event.kind,
                    "name": event.name,
                    "status": TaskStatus.PENDING.value,
                    "job_id": job.id,
                    "owner_id": job.owner_id,
                    "segment_index": event.segment_index,
                    "attempts": 0,
                    "max_retries": MAX_RETRIES,
                    "created_at": event.at,
                }
            ]
        )
        return await self.tasks.get_for_update(event.task_id)

    async def apply(self, event: TaskEvent) -> None:
        row = await self._row(event)
        if row is None or row.status in TASK_FINISHED:
            return  # unknown (deleted) or finished: nothing moves it any more
        if isinstance(event, TaskStarted):
            row.attempts += 1  # each run counts once (the inbox drops duplicates)
        current = event.order() >= row.event_order
        if current:
            _apply(row, event)
            row.event_order = event.order()
        elif isinstance(event, TaskRetried | TaskSucceeded | TaskFailed) and event.duration_s:
            row.duration = (row.duration or 0.0) + event.duration_s
        row.updated_at = max(row.updated_at or event.at, event.at)
        self.session.add(row)

    async def run_succeeded(self, run: TaskRun, *, job_id: int, segment_index: int | None) -> None:
        """A result event's run: as its ``TaskStarted`` (when the run carries its start)
        and ``TaskSucceeded`` would have been applied, one after the other."""
        fields = {
            "task_id": run.task_id,
            "job_id": job_id,
            "name": run.name,
            "segment_index": segment_index,
            "deferrals": run.deferrals,
            "delivery": run.delivery,
        }
        succeeded = TaskSucceeded(**fields, at=run.at, duration_s=run.duration_s)
        done = await self.tasks.succeed_open(
            run.task_id,
            at=run.at,
            duration_s=run.duration_s,
            order=succeeded.order(),
            started_at=run.started_at,
            queued_at=run.queued_at,
        )
        if done:
            return
        # Unknown, finished or overtaken: the general path decides (rare).
        if run.started_at is not None:
            await self.apply(TaskStarted(**fields, at=run.started_at, queued_at=run.queued_at))
        await self.apply(succeeded)


def _apply(row: TaskExecution, event: TaskEvent) -> None:
    if isinstance(event, TaskStarted):
        row.status = TaskStatus.STARTED
        row.start_time = event.at
        row.next_retry_at = None
        queued = row.queue_time or event.queued_at
        if row.queue_duration is None and queued is not None:
            row.queue_duration = max(0.0, (event.at - queued).total_seconds())
    elif isinstance(event, TaskProgressed):
        row.status = TaskStatus.RUNNING
        row.progress = min(100, event.done * 100 // event.total)
        row.message = event.message
    elif isinstance(event, TaskRetried):
        row.status = TaskStatus.RETRY
        row.last_error = event.reason
        row.next_retry_at = event.retry_at
        row.duration = (row.duration or 0.0) + event.duration_s
    elif isinstance(event, TaskSucceeded):
        row.status = TaskStatus.SUCCESS
        row.progress = 100
        row.end_time = event.at
        row.duration = (row.duration or 0.0) + event.duration_s
    elif isinstance(event, TaskFailed):
        row.status = TaskStatus.FAILURE
        row.last_error = event.reason
        row.end_time = event.at
        row.duration = (row.duration or 0.0) + event.duration_s
    elif isinstance(event, TaskCancelled):
        row.status = TaskStatus.REVOKED
        row.last_error = "The job was cancelled."
        row.end_time = event.at
        if event.duration_s is not None:
            row.duration = (row.duration or 0.0) + event.duration_s
