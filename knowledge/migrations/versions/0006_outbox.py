"""The reminder outbox: one row per delivery, for exactly-once sending across crashes and instances.

Revision ID: 0006_outbox
Revises: 0005_reminders
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_outbox"
down_revision = "0005_reminders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("recipient_kind", sa.String(20), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("official_id", sa.Integer()),
        sa.Column("unit_id", sa.Integer()),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("message_ids", sa.JSON()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("channel", "address", "day", "kind", name="uq_reminder_outbox_key"),
    )
    op.create_index("ix_reminder_outbox_day", "reminder_outbox", ["day"])
    # "Which addresses were found blocked lately" looks rows up by address.
    op.create_index("ix_reminder_outbox_address", "reminder_outbox", ["channel", "address", "day"])


def downgrade() -> None:
    op.drop_table("reminder_outbox")
