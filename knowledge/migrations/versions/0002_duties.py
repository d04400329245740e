"""Duty rules (filled in by the duty-rules work).

Revision ID: 0002_duties
Revises: 0001_knowledge
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002_duties"
down_revision = "0001_knowledge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
