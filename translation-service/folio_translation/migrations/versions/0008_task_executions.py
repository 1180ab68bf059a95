"""Task monitoring: one row per work command sent to the worker.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "task_executions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "job_id",
            sa.BigInteger(),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.String(255), nullable=True),
        sa.Column("segment_index", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("next_retry_at"),
        _when("queue_time"),
        _when("start_time"),
        _when("end_time"),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("queue_duration", sa.Float(), nullable=True),
        sa.Column("event_order", sa.BigInteger(), nullable=False, server_default="-1"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        _when("updated_at"),
    )
    op.create_index("ix_task_executions_kind", "task_executions", ["kind"])
    op.create_index("ix_task_executions_status", "task_executions", ["status"])
    op.create_index("ix_task_executions_owner_id", "task_executions", ["owner_id"])
    op.create_index("ix_task_executions_created_at", "task_executions", ["created_at"])
    op.create_index("ix_task_executions_status_kind", "task_executions", ["status", "kind"])
    op.create_index(
        "ix_task_executions_job_created", "task_executions", ["job_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("task_executions")
