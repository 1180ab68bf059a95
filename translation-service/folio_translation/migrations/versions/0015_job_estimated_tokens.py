"""A job's totals say how much of them is Folio's estimate rather than the provider's
figure (calls recorded at their reservation because their answer was never seen).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column("estimated_tokens", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # Jobs that already have estimated rows: their totals include them.
    op.execute(
        "UPDATE jobs SET estimated_tokens = u.tokens FROM ("
        " SELECT job_id, SUM(input_tokens + output_tokens + thinking_tokens) AS tokens"
        " FROM usage_records WHERE estimated AND NOT cached AND job_id IS NOT NULL"
        " GROUP BY job_id) AS u WHERE jobs.id = u.job_id"
    )


def downgrade() -> None:
    op.drop_column("jobs", "estimated_tokens")
