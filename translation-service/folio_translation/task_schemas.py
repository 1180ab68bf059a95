"""What task monitoring returns: the upstream's ``TaskExecutionResponse`` family.

Two views of a task: :class:`TaskExecutionResponse` for its owner (or an admin), and
:class:`TaskStatusView` for the frontend's anonymous poll of a job's tasks (kind and
state only: no errors, no owner). ``celery_state`` keeps the upstream's Celery state
names, which the frontend reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict

from folio.contracts.tasks import TaskKind

# The kinds are the contract's (the worker reports them); one list for both.
TaskKindValue = TaskKind
TaskStatusValue = Literal["pending", "started", "retry", "success", "failure", "revoked", "running"]

CELERY_STATES: dict[str, str] = {
    "pending": "PENDING",
    "started": "STARTED",
    "running": "PROGRESS",
    "retry": "RETRY",
    "success": "SUCCESS",
    "failure": "FAILURE",
    "revoked": "REVOKED",
}


class TaskStatusView(BaseModel):
    """What an anonymous poll of a job's tasks gets."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: TaskKindValue
    name: str
    status: TaskStatusValue
    celery_state: str | None = None
    job_id: int | None = None
    segment_index: int | None = None
    progress: int | None = None
    created_at: datetime
    updated_at: datetime | None = None

    @classmethod
    def of(cls, task: Any) -> Self:
        view = cls.model_validate(task)
        return view.model_copy(update={"celery_state": CELERY_STATES.get(view.status)})


class TaskExecutionResponse(TaskStatusView):
    """The owner's (or an admin's) view: the upstream's fields."""

    message: str | None = None
    attempts: int = 0
    max_retries: int = 0
    last_error: str | None = None
    next_retry_at: datetime | None = None
    queue_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: float | None = None
    queue_duration: float | None = None
    # The identity provider's user id (a string), like a job's owner_id.
    user_id: str | None = None
    celery_info: dict[str, Any] | None = None
    # Folio keeps no task arguments or results (they would hold keys and book text).
    args: list[Any] | None = None
    kwargs: dict[str, Any] | None = None
    result: Any | None = None

    @classmethod
    def of(cls, task: Any) -> Self:
        view = super().of(task)
        info = None
        if view.status in ("started", "running", "retry") and view.progress is not None:
            info = {"current": view.progress, "total": 100, "status": view.message}
        return view.model_copy(update={"user_id": task.owner_id, "celery_info": info})


class TaskExecutionListResponse(BaseModel):
    tasks: list[TaskExecutionResponse]
    total: int
    offset: int = 0
    limit: int = 20
    page: int | None = None
    page_size: int | None = None


class TaskStatsSimple(BaseModel):
    period_hours: int
    status_counts: dict[str, int]
    kind_counts: dict[str, int]
    average_durations: dict[str, float]
    total_tasks: int


class TaskCancelResponse(BaseModel):
    message: str
    task_id: str
