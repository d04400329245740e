"""Hazard-rectification ledger (filled in by the ledger work).

Revision ID: 0003_ledger
Revises: 0002_duties
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_ledger"
down_revision = "0002_duties"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
