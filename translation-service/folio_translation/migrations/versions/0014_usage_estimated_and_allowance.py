"""A call whose answer was never seen (its worker died with it in flight) is recorded at
its reservation and flagged as estimated; a call on the deployment's own key is flagged
as counted against its owner's daily allowance (what ``POST /jobs`` checks up front).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "usage_records",
        sa.Column("estimated", sa.Boolean(), nullable=False, server_default="false"),
    )
    op.add_column(
        "usage_records",
        sa.Column("allowance", sa.Boolean(), nullable=False, server_default="false"),
    )
    # What an owner spent today on the deployment's key: one range scan.
    op.create_index(
        "ix_usage_records_allowance_day",
        "usage_records",
        ["owner_id", "created_at"],
        postgresql_where=sa.text("allowance"),
    )


def downgrade() -> None:
    op.drop_index("ix_usage_records_allowance_day", table_name="usage_records")
    op.drop_column("usage_records", "allowance")
    op.drop_column("usage_records", "estimated")
