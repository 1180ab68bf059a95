"""What a translated segment still lacks after the engine's retries (a glossary rendering
the model would not use), shown with the segment.

Revision ID: 0011
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("segments", sa.Column("warnings", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("segments", "warnings")
