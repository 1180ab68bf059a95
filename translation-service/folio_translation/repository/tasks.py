"""Queries of the ``task_executions`` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from folio_translation.models import TASK_FINISHED, TaskExecution

# One prepared statement, not an expression built and cache-keyed per result: it runs for
# every result event. A run that carries its start also does what TaskStarted would.
_FINISHED = sorted(status.value for status in TASK_FINISHED)
_SUCCEED_OPEN = text(
    """
    UPDATE task_executions SET
        status = 'success',
        progress = 100,
        end_time = CAST(:at AS timestamptz),
        duration = coalesce(duration, 0) + CAST(:duration AS double precision),
        event_order = CAST(:order AS bigint),
        updated_at = greatest(
            coalesce(updated_at, CAST(:at AS timestamptz)), CAST(:at AS timestamptz)
        ),
        attempts = attempts
            + CASE WHEN CAST(:started_at AS timestamptz) IS NULL THEN 0 ELSE 1 END,
        start_time = coalesce(CAST(:started_at AS timestamptz), start_time),
        next_retry_at = CASE WHEN CAST(:started_at AS timestamptz) IS NULL
            THEN next_retry_at ELSE NULL END,
        queue_duration = CASE WHEN CAST(:started_at AS timestamptz) IS NULL THEN queue_duration
            ELSE coalesce(queue_duration, greatest(0, extract(epoch FROM
                CAST(:started_at AS timestamptz)
                - coalesce(queue_time, CAST(:queued_at AS timestamptz))))) END
    WHERE id = :id
        AND status <> ALL(CAST(:finished AS varchar[]))
        AND event_order <= CAST(:order AS bigint)
    """
)


class TaskRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_queued(self, rows: Sequence[dict]) -> None:
        """Rows of commands just staged in the outbox (an existing id is left alone)."""
        if rows:
            await self.session.execute(
                insert(TaskExecution.__table__).values(list(rows)).on_conflict_do_nothing()
            )

    async def get(self, task_id: str) -> TaskExecution | None:
        return await self.session.get(TaskExecution, task_id)

    async def get_for_update(self, task_id: str) -> TaskExecution | None:
        result = await self.session.exec(
            select(TaskExecution).where(TaskExecution.id == task_id).with_for_update()  # type: ignore[arg-type]
        )
        return result.scalars().first()  # type: ignore[attr-defined]

    async def list(
        self,
        *,
        owner_id: str | None,
        kind: str | None,
        status: str | None,
        job_id: int | None,
        limit: int,
        offset: int,
    ) -> tuple[list[TaskExecution], int]:
        """Newest first; ``owner_id`` None lists everyone's (admins)."""
        table = TaskExecution.__table__
        where = []
        if owner_id is not None:
            where.append(table.c.owner_id == owner_id)
        if kind is not None:
            where.append(table.c.kind == kind)
        if status is not None:
            where.append(table.c.status == status)
        if job_id is not None:
            where.append(table.c.job_id == job_id)
        total = (
            await self.session.execute(select(func.count()).select_from(table).where(*where))
        ).scalar_one()
        rows = await self.session.exec(
            select(TaskExecution)
            .where(*where)
            .order_by(table.c.created_at.desc(), table.c.id)
            .limit(limit)
            .offset(offset)
        )
        return list(rows.scalars().all()), int(total)  # type: ignore[attr-defined]

    async def for_job(self, job_id: int, limit: int) -> list[TaskExecution]:
        table = TaskExecution.__table__
        rows = await self.session.exec(
            select(TaskExecution)
            .where(table.c.job_id == job_id)
            .order_by(table.c.created_at.desc(), table.c.id)
            .limit(limit)
        )
        return list(rows.scalars().all())  # type: ignore[attr-defined]

    async def succeed_open(
        self,
        task_id: str,
        *,
        at: datetime,
        duration_s: float,
        order: int,
        started_at: datetime | None,
        queued_at: datetime | None,
    ) -> bool:
        """Finish an open task as succeeded in one statement, unless a later report (by
        ``order``) was applied already; with ``started_at``, its run's start too. Whether
        it did."""
        result = await self.session.execute(
            _SUCCEED_OPEN,
            {
                "id": task_id,
                "at": at,
                "duration": duration_s,
                "order": order,
                "started_at": started_at,
                "queued_at": queued_at,
                "finished": _FINISHED,
            },
        )
        return result.rowcount == 1  # type: ignore[attr-defined]

    async def revoke_open(self, task_id: str, when: datetime, reason: str) -> None:
        table = TaskExecution.__table__
        await self.session.execute(
            update(table)
            .where(table.c.id == task_id, table.c.status.not_in(list(TASK_FINISHED)))
            .values(status="revoked", end_time=when, updated_at=when, last_error=reason)
        )

    async def stats(self, since: datetime) -> dict:
        table = TaskExecution.__table__
        recent = table.c.created_at >= since
        by_status = dict(
            (
                await self.session.execute(
                    select(table.c.status, func.count()).where(recent).group_by(table.c.status)
                )
            ).all()
        )
        by_kind = dict(
            (
                await self.session.execute(
                    select(table.c.kind, func.count()).where(recent).group_by(table.c.kind)
                )
            ).all()
        )
        durations = dict(
            (
                await self.session.execute(
                    select(table.c.kind, func.avg(table.c.duration))
                    .where(recent, table.c.status == "success", table.c.duration.is_not(None))
                    .group_by(table.c.kind)
                )
            ).all()
        )
        return {
            "status_counts": {k: int(v) for k, v in by_status.items()},
            "kind_counts": {k: int(v) for k, v in by_kind.items()},
            "average_durations": {k: float(v) for k, v in durations.items()},
            "total_tasks": int(sum(by_status.values())),
        }
