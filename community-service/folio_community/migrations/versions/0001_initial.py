"""initial

Revision ID: 0001
Revises: 
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from folio.db.messaging_tables import create_messaging_tables, drop_messaging_tables

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table('authors',
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('categories',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('is_admin_only', sa.Boolean(), nullable=False),
    sa.Column('order', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    # The four boards every installation starts with.
    categories = sa.table(
        "categories",
        sa.column("name", sa.String),
        sa.column("display_name", sa.String),
        sa.column("description", sa.Text),
        sa.column("is_admin_only", sa.Boolean),
        sa.column("order", sa.Integer),
    )
    op.bulk_insert(
        categories,
        [
            {"name": "announcement", "display_name": "📢 공지사항", "description": "Announcements from the team", "is_admin_only": True, "order": 1},
            {"name": "suggestion", "display_name": "💡 건의사항", "description": "Suggestions", "is_admin_only": False, "order": 2},
            {"name": "qna", "display_name": "❓ Q&A", "description": "Questions and answers", "is_admin_only": False, "order": 3},
            {"name": "free", "display_name": "💬 자유게시판", "description": "Free board", "is_admin_only": False, "order": 4},
        ],
    )


def downgrade() -> None:
    op.drop_table('categories')
    op.drop_table('authors')
    drop_messaging_tables()
