"""What users ask of task monitoring: a task, their tasks, a job's tasks, cancelling one,
and (for admins) statistics. A task is private to its job's owner (admins may see all);
anyone else is told it does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from folio.errors import Conflict, Forbidden, NotFound
from folio.identity import Identity
from folio_translation.models import TASK_FINISHED, TaskExecution, utcnow
from folio_translation.repository import JobRepository, TaskRepository
from folio_translation.service.access import visible_job
from folio_translation.service.deps import JobDeps
from folio_translation.service.job_control import JobControl

# A job's tasks are listed whole; a book has at most a few thousand segments.
MAX_JOB_TASKS = 5000


@dataclass(frozen=True)
class TaskFilter:
    kind: str | None = None
    status: str | None = None
    job_id: int | None = None
    limit: int = 20
    offset: int = 0


class TaskService:
    def __init__(self, session: AsyncSession, deps: JobDeps) -> None:
        self.session = session
        self.deps = deps
        self.tasks = TaskRepository(session)
        self.jobs = JobRepository(session)

    async def visible_task(self, identity: Identity, task_id: str) -> TaskExecution:
        task = await self.tasks.get(task_id)
        if task is None or (task.owner_id != identity.user_id and not identity.is_admin):
            raise NotFound("Task not found")
        return task

    async def list_tasks(
        self, identity: Identity, where: TaskFilter
    ) -> tuple[list[TaskExecution], int]:
        return await self.tasks.list(
            owner_id=None if identity.is_admin else identity.user_id,
            kind=where.kind,
            status=where.status,
            job_id=where.job_id,
            limit=where.limit,
            offset=where.offset,
        )

    async def job_tasks(self, identity: Identity | None, job_id: int) -> list[TaskExecution]:
        """The job's tasks, newest first. Anonymous callers (the frontend's poll) may ask
        about any job they know the id of; the API then shows them status fields only."""
        if identity is None:
            if not await self.jobs.exists(job_id):
                raise NotFound(f"Job {job_id} not found.")
        else:
            await visible_job(self.jobs, identity, job_id)
        return await self.tasks.for_job(job_id, MAX_JOB_TASKS)

    async def cancel(self, identity: Identity, task_id: str) -> TaskExecution:
        """Cancelling a task stops its job's work (the task is one part of it)."""
        task = await self.visible_task(identity, task_id)
        if task.status in TASK_FINISHED:
            raise Conflict(f"The task is already finished ({task.status}).")
        if task.job_id is None:
            raise Conflict("This task belongs to no job and cannot be cancelled.")
        await JobControl(self.session, self.deps).cancel(identity, task.job_id)
        await self.tasks.revoke_open(task_id, utcnow(), "Task cancelled by user")
        return task

    async def stats(self, identity: Identity, hours: int) -> dict:
        if not identity.is_admin:
            raise Forbidden("Admin access required")
        return {
            "period_hours": hours,
            **await self.tasks.stats(utcnow() - timedelta(hours=hours)),
        }
