"""Documents: publication date (from a web page's 信息栏, a speech's date line or a notice's sign-off).

Revision ID: 0004_document_metadata
Revises: 0003_ledger
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_document_metadata"
down_revision = "0003_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("published_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("published_on")
