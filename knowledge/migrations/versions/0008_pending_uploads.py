"""Uploads refused as duplicates, held for an admin's decision (replace, keep both, cancel).

Revision ID: 0008_pending_uploads
Revises: 0007_channels
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_pending_uploads"
down_revision = "0007_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_uploads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_ref", sa.String(300), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("title", sa.String(300)),
        sa.Column("duplicate_title", sa.String(300), nullable=False),
        sa.Column("duplicate_id", sa.Integer(), nullable=False),
        sa.Column("duplicate_hash", sa.String(64), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(20)),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_pending_uploads_created_at", "pending_uploads", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_pending_uploads_created_at", table_name="pending_uploads")
    op.drop_table("pending_uploads")
