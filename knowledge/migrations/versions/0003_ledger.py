"""Hazard-rectification ledger: units, officials, hazards, history, extensions, attachments, basis.

Revision ID: 0003_ledger
Revises: 0002_duties
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_ledger"
down_revision = "0002_duties"
branch_labels = None
depends_on = None

_OPEN = sa.text("status <> '已销号'")


def _fk(column: str, table: str, target: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "ledger_units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(50)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.Integer(), _fk("parent_id", "ledger_units", "ledger_units", "RESTRICT")),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code", name="uq_ledger_units_code"),
        sa.UniqueConstraint("parent_id", "name", name="uq_ledger_units_parent_name"),
    )
    op.create_index("ix_ledger_units_parent_id", "ledger_units", ["parent_id"])
    op.create_index(
        "ix_ledger_units_path", "ledger_units", ["path"], postgresql_ops={"path": "varchar_pattern_ops"}
    )
    op.create_index("ix_ledger_units_name", "ledger_units", ["name"])

    op.create_table(
        "ledger_officials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("unit_id", sa.Integer(), _fk("unit_id", "ledger_officials", "ledger_units", "RESTRICT"),
                  nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("supervisor_id", sa.Integer(),
                  _fk("supervisor_id", "ledger_officials", "ledger_officials", "SET NULL")),
        sa.Column("chat_user_id", sa.BigInteger()),
        sa.Column("bind_code_hash", sa.String(64)),
        sa.Column("bind_code_expires_at", sa.DateTime(timezone=True)),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("chat_user_id", name="uq_ledger_officials_chat_user_id"),
        sa.UniqueConstraint("bind_code_hash", name="uq_ledger_officials_bind_code_hash"),
    )
    op.create_index("ix_ledger_officials_name", "ledger_officials", ["name"])
    op.create_index("ix_ledger_officials_unit_id", "ledger_officials", ["unit_id"])

    op.create_table(
        "ledger_counters",
        sa.Column("prefix", sa.String(20), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )

    op.create_table(
        "ledger_hazards",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("norm_description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(300)),
        sa.Column("unit_id", sa.Integer(), _fk("unit_id", "ledger_hazards", "ledger_units", "RESTRICT"),
                  nullable=False),
        sa.Column("category", sa.String(60)),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("responsible_unit_id", sa.Integer(),
                  _fk("responsible_unit_id", "ledger_hazards", "ledger_units", "RESTRICT"), nullable=False),
        sa.Column("responsible_official_id", sa.Integer(),
                  _fk("responsible_official_id", "ledger_hazards", "ledger_officials", "RESTRICT")),
        sa.Column("measures", sa.Text()),
        sa.Column("funds", sa.Numeric(14, 2)),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("supervising_unit_id", sa.Integer(),
                  _fk("supervising_unit_id", "ledger_hazards", "ledger_units", "RESTRICT")),
        sa.Column("listed_supervision", sa.Boolean(), nullable=False),
        sa.Column("major_suspected", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_on", sa.Date()),
        sa.Column("source_key", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("number", name="uq_ledger_hazards_number"),
        sa.UniqueConstraint("source_key", name="uq_ledger_hazards_source_key"),
    )
    op.create_index("ix_ledger_hazards_unit_id", "ledger_hazards", ["unit_id"])
    op.create_index(
        "ix_ledger_hazards_open_unit", "ledger_hazards", ["responsible_unit_id", "deadline"],
        postgresql_where=_OPEN, sqlite_where=_OPEN,
    )
    op.create_index(
        "ix_ledger_hazards_open_official", "ledger_hazards", ["responsible_official_id", "deadline"],
        postgresql_where=_OPEN, sqlite_where=_OPEN,
    )
    op.create_index("ix_ledger_hazards_found_unit", "ledger_hazards", ["found_on", "responsible_unit_id"])
    op.create_index("ix_ledger_hazards_supervising", "ledger_hazards", ["supervising_unit_id", "status"])
    op.create_index("ix_ledger_hazards_status_deadline", "ledger_hazards", ["status", "deadline"])

    op.create_table(
        "ledger_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hazard_id", sa.Integer(), _fk("hazard_id", "ledger_events", "ledger_hazards", "CASCADE"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(10)),
        sa.Column("to_status", sa.String(10)),
        sa.Column("note", sa.Text()),
        sa.Column("changes", sa.JSON()),
    )
    op.create_index("ix_ledger_events_hazard_id", "ledger_events", ["hazard_id"])

    op.create_table(
        "ledger_extensions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hazard_id", sa.Integer(),
                  _fk("hazard_id", "ledger_extensions", "ledger_hazards", "CASCADE"), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("old_deadline", sa.Date(), nullable=False),
        sa.Column("new_deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decision_note", sa.Text()),
    )
    op.create_index("ix_ledger_extensions_hazard_id", "ledger_extensions", ["hazard_id"])

    op.create_table(
        "ledger_attachments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hazard_id", sa.Integer(),
                  _fk("hazard_id", "ledger_attachments", "ledger_hazards", "CASCADE"), nullable=False),
        sa.Column("event_id", sa.Integer(), _fk("event_id", "ledger_attachments", "ledger_events", "SET NULL")),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("stored_path", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("hazard_id", "sha256", name="uq_ledger_attachments_hazard_sha"),
    )
    op.create_index("ix_ledger_attachments_hazard_id", "ledger_attachments", ["hazard_id"])

    op.create_table(
        "ledger_basis",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hazard_id", sa.Integer(), _fk("hazard_id", "ledger_basis", "ledger_hazards", "CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("document", sa.String(300), nullable=False),
        sa.Column("article", sa.String(60)),
        sa.Column("excerpt", sa.Text()),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("hazard_id", "document", "article", name="uq_ledger_basis_hazard_document"),
    )
    op.create_index("ix_ledger_basis_hazard_id", "ledger_basis", ["hazard_id"])


def downgrade() -> None:
    for table in (
        "ledger_basis", "ledger_attachments", "ledger_extensions", "ledger_events",
        "ledger_hazards", "ledger_counters", "ledger_officials", "ledger_units",
    ):
        op.drop_table(table)
