"""engine

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('translation_memory',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('unit_translations', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('hits', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('fingerprint')
    )
    op.create_table('usage_records',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('job_id', sa.BigInteger(), nullable=True),
    sa.Column('owner_id', sa.String(length=255), nullable=True),
    sa.Column('segment_index', sa.Integer(), nullable=True),
    sa.Column('phase', sa.String(length=20), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('key_id', sa.String(length=20), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('thinking_tokens', sa.Integer(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('cached', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_usage_records_job_id'), 'usage_records', ['job_id'], unique=False)
    op.create_index(op.f('ix_usage_records_owner_id'), 'usage_records', ['owner_id'], unique=False)
    op.add_column('jobs', sa.Column('mode', sa.String(length=10), server_default=sa.text("'default'"), nullable=False))
    op.add_column('jobs', sa.Column('model', sa.String(length=200), server_default=sa.text("''"), nullable=False))
    op.add_column('jobs', sa.Column('max_tokens', sa.BigInteger(), nullable=True))
    op.add_column('jobs', sa.Column('bilingual', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('jobs', sa.Column('phase', sa.String(length=20), server_default=sa.text("'done'"), nullable=False))
    op.add_column('jobs', sa.Column('status_detail', sa.Text(), nullable=True))
    op.add_column('jobs', sa.Column('credentials', sa.Text(), nullable=True))
    op.add_column('jobs', sa.Column('style_input', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('jobs', sa.Column('glossary_input', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('jobs', sa.Column('glossary_mode', sa.String(length=10), server_default=sa.text("'seed'"), nullable=False))
    op.add_column('jobs', sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('jobs', sa.Column('estimate', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('jobs', sa.Column('document', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('jobs', sa.Column('outputs', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('segments', sa.Column('units', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('segments', sa.Column('unit_translations', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('segments', sa.Column('context', postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column('segments', sa.Column('estimated_tokens', sa.Integer(), server_default=sa.text('0'), nullable=False))
    op.add_column('segments', sa.Column('fingerprint', sa.String(length=64), nullable=True))
    op.add_column('segments', sa.Column('cached', sa.Boolean(), server_default='false', nullable=False))


def downgrade() -> None:
    op.drop_column('segments', 'cached')
    op.drop_column('segments', 'fingerprint')
    op.drop_column('segments', 'estimated_tokens')
    op.drop_column('segments', 'context')
    op.drop_column('segments', 'unit_translations')
    op.drop_column('segments', 'units')
    op.drop_column('jobs', 'outputs')
    op.drop_column('jobs', 'document')
    op.drop_column('jobs', 'estimate')
    op.drop_column('jobs', 'context')
    op.drop_column('jobs', 'glossary_mode')
    op.drop_column('jobs', 'glossary_input')
    op.drop_column('jobs', 'style_input')
    op.drop_column('jobs', 'credentials')
    op.drop_column('jobs', 'status_detail')
    op.drop_column('jobs', 'phase')
    op.drop_column('jobs', 'bilingual')
    op.drop_column('jobs', 'max_tokens')
    op.drop_column('jobs', 'model')
    op.drop_column('jobs', 'mode')
    op.drop_index(op.f('ix_usage_records_owner_id'), table_name='usage_records')
    op.drop_index(op.f('ix_usage_records_job_id'), table_name='usage_records')
    op.drop_table('usage_records')
    op.drop_table('translation_memory')
