"""Output options of a job: a machine-translation colophon, vertical writing for CJK targets.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("output_options", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "output_options")
