"""Reminders: group links, acknowledgements (已知悉), escalations, undeliverable destinations.

Revision ID: 0005_reminders
Revises: 0003_ledger
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_reminders"
down_revision = "0003_ledger"
branch_labels = None
depends_on = None


def _fk(column: str, table: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "reminder_chat_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), _fk("unit_id", "reminder_chat_links", "ledger_units", "CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("linked_by", sa.String(100), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "address", name="uq_reminder_chat_links_kind_address"),
    )
    op.create_index("ix_reminder_chat_links_unit_id", "reminder_chat_links", ["unit_id"])

    op.create_table(
        "reminder_acks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hazard_id", sa.Integer(), _fk("hazard_id", "reminder_acks", "ledger_hazards", "CASCADE"),
                  nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("official_id", sa.Integer(),
                  _fk("official_id", "reminder_acks", "ledger_officials", "SET NULL")),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("hazard_id", "actor", "day", name="uq_reminder_acks_hazard_actor_day"),
    )
    op.create_index("ix_reminder_acks_hazard_id", "reminder_acks", ["hazard_id"])

    op.create_table(
        "reminder_escalations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hazard_id", sa.Integer(),
                  _fk("hazard_id", "reminder_escalations", "ledger_hazards", "CASCADE"), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("fired_on", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Text()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("hazard_id", "level", name="uq_reminder_escalations_hazard_level"),
    )

    op.create_table(
        "reminder_undeliverable",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "address", name="uq_reminder_undeliverable_kind_address"),
    )
    op.create_index("ix_reminder_undeliverable_marked_at", "reminder_undeliverable", ["marked_at"])


def downgrade() -> None:
    op.drop_table("reminder_undeliverable")
    op.drop_table("reminder_escalations")
    op.drop_table("reminder_acks")
    op.drop_table("reminder_chat_links")
