"""Usage stored once per model call: each row names its call, and a call reported twice
(by its result event and by the worker's usage journal, or by a redone command) is one row.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("usage_records", sa.Column("call_id", sa.String(64), nullable=True))
    op.add_column(
        "usage_records",
        sa.Column("cached_input_tokens", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "jobs",
        sa.Column("cached_input_tokens", sa.BigInteger(), nullable=False, server_default="0"),
    )
    # Unique, and NULLs (answers served from memory) never conflict.
    op.create_index("ux_usage_records_call_id", "usage_records", ["call_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_usage_records_call_id", table_name="usage_records")
    op.drop_column("jobs", "cached_input_tokens")
    op.drop_column("usage_records", "cached_input_tokens")
    op.drop_column("usage_records", "call_id")
