"""Partial failure and tenancy of reused work: a segment lists the units it kept
untranslated; a job knows whose finished work it may reuse and whether it runs on its
owner's own provider.

Translation memory entries made before reuse was scoped may have come from any user's own
provider: they are dropped (the new fingerprints never match them anyway).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("segments", sa.Column("failures", postgresql.JSONB(), nullable=True))
    op.add_column(
        "jobs", sa.Column("own_provider", sa.Boolean(), nullable=False, server_default="false")
    )
    op.add_column("jobs", sa.Column("reuse_scope", sa.String(64), nullable=True))
    op.execute("UPDATE jobs SET own_provider = credentials IS NOT NULL")
    # Jobs made before: each owner's jobs share one scope.
    op.execute(
        "UPDATE jobs SET reuse_scope = encode(sha256(convert_to('legacy:' || owner_id, "
        "'UTF8')), 'hex')"
    )
    op.execute("DELETE FROM translation_memory")


def downgrade() -> None:
    op.drop_column("jobs", "reuse_scope")
    op.drop_column("jobs", "own_provider")
    op.drop_column("segments", "failures")
