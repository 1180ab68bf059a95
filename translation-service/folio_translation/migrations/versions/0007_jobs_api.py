"""The complete jobs API: random job ids, idempotent uploads, the chained-phase options,
job events for live followers, usage categories and edited glossaries.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Ids are chosen by the service (random, below 2**53) from now on.
    op.execute("ALTER TABLE jobs ALTER COLUMN id DROP IDENTITY IF EXISTS")
    op.add_column("jobs", sa.Column("idempotency_key", sa.String(255), nullable=True))
    op.add_column("jobs", sa.Column("request_digest", sa.String(64), nullable=True))
    op.add_column("jobs", sa.Column("glossary_key", sa.String(255), nullable=True))
    op.add_column("jobs", sa.Column("analysis_model", sa.String(200), nullable=True))
    op.add_column("jobs", sa.Column("glossary_digest", sa.String(64), nullable=True))
    for name in ("validation_enabled", "quick_validation", "post_edit_enabled"):
        op.add_column(
            "jobs", sa.Column(name, sa.Boolean(), nullable=False, server_default="false")
        )
    op.add_column(
        "jobs",
        sa.Column("validation_sample_rate", sa.Integer(), nullable=False, server_default="100"),
    )
    op.add_column(
        "jobs", sa.Column("event_seq", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.create_index(
        "ix_jobs_owner_idempotency",
        "jobs",
        ["owner_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.add_column(
        "usage_records",
        sa.Column("category", sa.String(20), nullable=False, server_default="translation"),
    )
    op.create_index("ix_usage_records_category", "usage_records", ["category"])
    op.create_table(
        "job_events",
        sa.Column(
            "job_id",
            sa.BigInteger(),
            sa.ForeignKey("jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    # Every change of a job's state is an event, numbered under the job's row lock (a
    # BEFORE trigger runs with the row locked), so numbers follow commit order per job.
    op.execute(
        """
        CREATE OR REPLACE FUNCTION jobs_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF TG_WHEN = 'BEFORE' THEN
                    NEW.event_seq := 1;
                    RETURN NEW;
                END IF;
            ELSIF NEW.status IS NOT DISTINCT FROM OLD.status
                  AND NEW.phase IS NOT DISTINCT FROM OLD.phase THEN
                RETURN NEW;
            ELSE
                NEW.event_seq := NEW.event_seq + 1;
            END IF;
            INSERT INTO job_events (job_id, seq, kind, data)
            VALUES (
                NEW.id, NEW.event_seq, 'status',
                jsonb_build_object(
                    'status', NEW.status, 'phase', NEW.phase, 'progress', NEW.progress,
                    'error_message', NEW.error_message, 'status_detail', NEW.status_detail
                )
            );
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER jobs_status_event_insert BEFORE INSERT ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION jobs_status_event()"
    )
    op.execute(
        "CREATE TRIGGER jobs_status_event_created AFTER INSERT ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION jobs_status_event()"
    )
    op.execute(
        "CREATE TRIGGER jobs_status_event_update BEFORE UPDATE ON jobs "
        "FOR EACH ROW EXECUTE FUNCTION jobs_status_event()"
    )


def downgrade() -> None:
    for name in ("jobs_status_event_insert", "jobs_status_event_created", "jobs_status_event_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON jobs")
    op.execute("DROP FUNCTION IF EXISTS jobs_status_event()")
    op.drop_table("job_events")
    op.drop_index("ix_usage_records_category", table_name="usage_records")
    op.drop_column("usage_records", "category")
    op.drop_index("ix_jobs_owner_idempotency", table_name="jobs")
    for name in (
        "event_seq",
        "validation_sample_rate",
        "post_edit_enabled",
        "quick_validation",
        "validation_enabled",
        "glossary_digest",
        "glossary_key",
        "analysis_model",
        "request_digest",
        "idempotency_key",
    ):
        op.drop_column("jobs", name)
    op.execute("ALTER TABLE jobs ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
