"""Duty rules and their version history.

Revision ID: 0002_duties
Revises: 0001_knowledge
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_duties"
down_revision = "0001_knowledge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_rules",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("layer", sa.String(20), nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("duty", sa.Text(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("law_wording", sa.String(200)),
        sa.Column("jurisdiction", sa.String(40), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_duty_rules_topic", "duty_rules", ["topic"])
    op.create_table(
        "duty_rule_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule_id", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
    )
    op.create_index("ix_duty_rule_history_rule", "duty_rule_history", ["rule_id", "version"])


def downgrade() -> None:
    op.drop_table("duty_rule_history")
    op.drop_table("duty_rules")
