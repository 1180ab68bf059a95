"""Commands cite the worker's stored plan: the job keeps its key, each segment a digest.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("plan_key", sa.String(length=255), nullable=True))
    op.add_column("segments", sa.Column("digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("segments", "digest")
    op.drop_column("jobs", "plan_key")
