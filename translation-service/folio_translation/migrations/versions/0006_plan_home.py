"""Segments keep no copy of the plan: units and contexts live in the worker's stored plan.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "segments", sa.Column("unit_count", sa.Integer(), nullable=False, server_default="1")
    )
    op.execute(
        "UPDATE segments SET unit_count = greatest(jsonb_array_length(units), 1) "
        "WHERE units IS NOT NULL AND jsonb_typeof(units) = 'array'"
    )
    op.drop_column("segments", "units")
    op.drop_column("segments", "context")


def downgrade() -> None:
    op.add_column(
        "segments", sa.Column("context", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.add_column(
        "segments", sa.Column("units", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    op.drop_column("segments", "unit_count")
