"""How a worker reports each piece of work it runs (task monitoring).

A task is one work command (``PlanJob``, ``TranslateSegment``, ``AssembleJob``), named by
the command's message id, which stays the same through redeliveries and deferrals. The
worker reports what happens to it as it happens; translation-service keeps the history in
its ``task_executions`` table (it records the "queued" step itself, in the transaction
that sends the command).

``deferrals`` and ``delivery`` say which run of the command an event belongs to, so that
events arriving out of order never move a task backwards (see :meth:`TaskEvent.order`).

A run that succeeds is reported by its result event (``task``, a :class:`TaskRun`), not by
a task event of its own: the result already says the work succeeded, and it says when the
run started if its start was not reported (a quick run's only report is its result).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from folio.contracts.base import Event

# The upstream's TaskKind values; Folio's work commands are all "translation" so far.
TaskKind = Literal[
    "translation",
    "validation",
    "post_edit",
    "illustration",
    "event_processing",
    "maintenance",
    "other",
]


class TaskEvent(Event):
    """Fields every task event carries (an abstract base: no ``TYPE``)."""

    RANK: ClassVar[int] = 0

    task_id: str = Field(min_length=1, max_length=64)
    job_id: int | None = None
    kind: TaskKind = "translation"
    name: str = Field(max_length=100)  # the command, e.g. "translation.translate_segment"
    segment_index: int | None = None
    deferrals: int = Field(default=0, ge=0)
    delivery: int = Field(default=0, ge=0)  # earlier deliveries of this copy (x-delivery-count)
    at: datetime

    def order(self) -> int:
        """Later runs sort after earlier ones; within a run, steps sort by their rank."""
        return (self.deferrals * 1000 + self.delivery) * 10 + self.RANK


class TaskStarted(TaskEvent):
    TYPE: ClassVar[str] = "worker.task.started.v1"
    RANK: ClassVar[int] = 1

    # When this copy of the command was sent (the envelope's time): the queue wait.
    queued_at: datetime | None = None


class TaskProgressed(TaskEvent):
    TYPE: ClassVar[str] = "worker.task.progressed.v1"
    RANK: ClassVar[int] = 2

    done: int = Field(ge=0)
    total: int = Field(ge=1)
    message: str | None = Field(default=None, max_length=500)


class TaskRetried(TaskEvent):
    """This run did not finish; the command comes back (redelivered or deferred)."""

    TYPE: ClassVar[str] = "worker.task.retried.v1"
    RANK: ClassVar[int] = 3

    reason: str = Field(max_length=2000)
    retry_at: datetime | None = None
    duration_s: float = Field(default=0.0, ge=0)


class TaskSucceeded(TaskEvent):
    TYPE: ClassVar[str] = "worker.task.succeeded.v1"
    RANK: ClassVar[int] = 4

    duration_s: float = Field(default=0.0, ge=0)


class TaskFailed(TaskEvent):
    TYPE: ClassVar[str] = "worker.task.failed.v1"
    RANK: ClassVar[int] = 4

    reason: str = Field(max_length=2000)
    duration_s: float = Field(default=0.0, ge=0)


class TaskCancelled(TaskEvent):
    """The job was cancelled: the command was dropped, or its run was stopped."""

    TYPE: ClassVar[str] = "worker.task.cancelled.v1"
    RANK: ClassVar[int] = 4

    duration_s: float | None = Field(default=None, ge=0)


class TaskRun(BaseModel):
    """The run of a work command that produced a result event: its success, as a
    ``TaskSucceeded`` would say it (and its start, as a ``TaskStarted`` would, when
    ``started_at`` is set: no start report was sent for this run)."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=100)
    deferrals: int = Field(default=0, ge=0)
    delivery: int = Field(default=0, ge=0)
    at: datetime  # when the run ended
    duration_s: float = Field(default=0.0, ge=0)
    started_at: datetime | None = None
    queued_at: datetime | None = None


TASK_EVENTS: tuple[type[TaskEvent], ...] = (
    TaskStarted,
    TaskProgressed,
    TaskRetried,
    TaskSucceeded,
    TaskFailed,
    TaskCancelled,
)


def task_name(message_type: str) -> str:
    """A task's name: its command's type without the version (``translation.plan_job``)."""
    return message_type.rsplit(".", 1)[0]


class WorkTask(NamedTuple):
    """What a work command is as a task, in the fields task rows and events share."""

    kind: TaskKind
    name: str
    segment_index: int | None


def task_of(command: Any) -> WorkTask:
    """The task a work command is: one mapping for translation-service, which records it
    queued, and the worker, which reports its runs (so both name it alike)."""
    return WorkTask(
        kind="translation",  # every work command so far
        name=task_name(command.TYPE),
        segment_index=getattr(command, "segment_index", None),
    )
