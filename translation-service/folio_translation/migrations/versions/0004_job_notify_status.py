"""Job notifications carry the job's status ("<id>:<status>").

Progress streams coalesce progress-only changes but must pass on a status change at once;
with the status in the payload they can tell the two apart without reading the row.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                'folio_jobs_' || TG_TABLE_SCHEMA, NEW.id::text || ':' || NEW.status::text
            );
            RETURN NULL;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('folio_jobs_' || TG_TABLE_SCHEMA, NEW.id::text);
            RETURN NULL;
        END
        $$
        """
    )
