"""Task monitoring (the upstream's ``/tasks`` routes): each work command sent to the
worker, and what became of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from folio.identity import CurrentIdentity, OptionalIdentity
from folio_translation.api.deps import JobId, Tasks
from folio_translation.service.tasks import TaskFilter
from folio_translation.task_schemas import (
    TaskCancelResponse,
    TaskExecutionListResponse,
    TaskExecutionResponse,
    TaskKindValue,
    TaskStatsSimple,
    TaskStatusValue,
    TaskStatusView,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])

# Task ids are the commands' message ids (UUIDs); anything else cannot name a task.
TaskId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


@router.get(
    "/",
    response_model=TaskExecutionListResponse,
    summary="Your tasks (an admin's: everyone's), newest first",
)
async def list_tasks(
    tasks: Tasks,
    identity: CurrentIdentity,
    kind: Annotated[TaskKindValue | None, Query()] = None,
    status: Annotated[TaskStatusValue | None, Query()] = None,
    job_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> TaskExecutionListResponse:
    where = TaskFilter(kind=kind, status=status, job_id=job_id, limit=limit, offset=offset)
    rows, total = await tasks.list_tasks(identity, where)
    return TaskExecutionListResponse(
        tasks=[TaskExecutionResponse.of(row) for row in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/stats/summary", response_model=TaskStatsSimple, summary="Task statistics (admins)")
async def task_stats(
    tasks: Tasks,
    identity: CurrentIdentity,
    hours: Annotated[
        int, Query(ge=1, le=24 * 366, description="Number of hours to look back")
    ] = 24,
) -> TaskStatsSimple:
    return TaskStatsSimple.model_validate(await tasks.stats(identity, hours))


@router.get(
    "/job/{job_id}/tasks",
    response_model=list[TaskExecutionResponse] | list[TaskStatusView],
    summary="A job's tasks: the owner's view, or kinds and states for an anonymous poll",
    description=(
        "The owner (or an admin) gets every field. A request without a token (the "
        "frontend's 10-second poll) gets each task's kind and state only. Another "
        "signed-in user gets 404."
    ),
)
async def job_tasks(
    tasks: Tasks, identity: OptionalIdentity, job_id: JobId
) -> list[TaskExecutionResponse] | list[TaskStatusView]:
    rows = await tasks.job_tasks(identity, job_id)
    if identity is None:
        return [TaskStatusView.of(row) for row in rows]
    return [TaskExecutionResponse.of(row) for row in rows]


@router.get("/{task_id}", response_model=TaskExecutionResponse, summary="One task")
async def get_task(
    tasks: Tasks, identity: CurrentIdentity, task_id: TaskId
) -> TaskExecutionResponse:
    return TaskExecutionResponse.of(await tasks.visible_task(identity, task_id))


@router.post(
    "/{task_id}/cancel",
    response_model=TaskCancelResponse,
    summary="Cancel a task: its job's work stops, as with POST /jobs/{id}/cancel",
)
async def cancel_task(
    tasks: Tasks, identity: CurrentIdentity, task_id: TaskId
) -> TaskCancelResponse:
    task = await tasks.cancel(identity, task_id)
    return TaskCancelResponse(message="Task cancelled successfully", task_id=task.id)
