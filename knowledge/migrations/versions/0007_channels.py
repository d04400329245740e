"""Group-robot channels (企业微信/钉钉/飞书): webhook and secret encrypted, masked forms for display.

The unit link and the broken mark live in 0005_reminders' reminder_chat_links and
reminder_undeliverable (kind, robot name).

Revision ID: 0007_channels
Revises: 0006_outbox
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_channels"
down_revision = "0006_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "robot_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("webhook_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_masked", sa.String(300), nullable=False),
        sa.Column("webhook_digest", sa.String(64), nullable=False),
        sa.Column("secret_encrypted", sa.Text()),
        sa.Column("secret_masked", sa.String(40)),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_robot_channels_name"),
        sa.UniqueConstraint("webhook_digest", name="uq_robot_channels_webhook_digest"),
    )


def downgrade() -> None:
    op.drop_table("robot_channels")
