"""ORM models of the hazard-rectification ledger: units, officials, hazard items and their history.

Overdue is never stored: it is derived from ``deadline`` and today's date at query time.
Keep in sync with ``knowledge/migrations/versions/0003_ledger.py``.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from knowledge.db import Base
from knowledge.models import utcnow


class Status:
    PENDING = "待整改"
    IN_PROGRESS = "整改中"
    AWAITING_REVIEW = "待复查"
    CLOSED = "已销号"
    ALL = (PENDING, IN_PROGRESS, AWAITING_REVIEW, CLOSED)
    OPEN = (PENDING, IN_PROGRESS, AWAITING_REVIEW)


class Level:
    ORDINARY = "一般"
    MAJOR = "重大"
    ALL = (ORDINARY, MAJOR)


class Source:
    ALL = ("检查", "自查", "举报", "督查", "上级交办")


class UnitKind:
    ALL = ("市", "县区", "乡镇街道", "部门", "企业", "其他")


class Role:
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    OFFICIAL = "official"
    VIEWER = "viewer"
    ALL = (ADMIN, SUPERVISOR, OFFICIAL, VIEWER)
    LABELS = {ADMIN: "管理员", SUPERVISOR: "督办", OFFICIAL: "责任人", VIEWER: "只读"}


class ExtensionStatus:
    PENDING = "待审批"
    APPROVED = "已批准"
    REFUSED = "已驳回"


_OPEN_SQL = text("status <> '已销号'")


class Unit(Base):
    __tablename__ = "ledger_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(50), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="其他")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_units.id", ondelete="RESTRICT"), index=True)
    # Materialised path "/1/5/23/": "unit including sub-units" is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(500), default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])

    __table_args__ = (
        UniqueConstraint("parent_id", "name", name="uq_ledger_units_parent_name"),
        Index("ix_ledger_units_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
        Index("ix_ledger_units_name", "name"),
    )


class Official(Base):
    __tablename__ = "ledger_officials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("ledger_units.id", ondelete="RESTRICT"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.OFFICIAL)
    phone: Mapped[str | None] = mapped_column(String(40))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_officials.id", ondelete="SET NULL"))
    chat_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Only a hash of the one-time bind code is kept, so a database dump cannot be used to link accounts.
    bind_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    bind_code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[Unit] = relationship()


class HazardCounter(Base):
    """Last sequence number per (prefix, year): numbers are readable and never reused."""

    __tablename__ = "ledger_counters"

    prefix: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Hazard(Base):
    __tablename__ = "ledger_hazards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(Text)
    norm_description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    unit_id: Mapped[int] = mapped_column(ForeignKey("ledger_units.id", ondelete="RESTRICT"), index=True)
    category: Mapped[str | None] = mapped_column(String(60))
    level: Mapped[str] = mapped_column(String(10), default=Level.ORDINARY)
    source: Mapped[str] = mapped_column(String(10), default="检查")
    found_on: Mapped[date] = mapped_column(Date)
    responsible_unit_id: Mapped[int] = mapped_column(ForeignKey("ledger_units.id", ondelete="RESTRICT"))
    responsible_official_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_officials.id", ondelete="RESTRICT")
    )
    measures: Mapped[str | None] = mapped_column(Text)
    funds: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    deadline: Mapped[date] = mapped_column(Date)
    supervising_unit_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_units.id", ondelete="RESTRICT"))
    listed_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    major_suspected: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default=Status.PENDING)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Local (Asia/Shanghai) closing date, compared with the deadline for "closed on time".
    closed_on: Mapped[date | None] = mapped_column(Date)
    # Fingerprint of an imported row: re-importing the same file creates no duplicates.
    source_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Optimistic locking: of two people closing the same item at once, the second write fails.
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    responsible_unit: Mapped[Unit] = relationship(foreign_keys=[responsible_unit_id])
    responsible_official: Mapped[Official | None] = relationship(foreign_keys=[responsible_official_id])
    supervising_unit: Mapped[Unit | None] = relationship(foreign_keys=[supervising_unit_id])

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Due/overdue lists per unit and per official only ever look at open items.
        Index(
            "ix_ledger_hazards_open_unit", "responsible_unit_id", "deadline",
            postgresql_where=_OPEN_SQL, sqlite_where=_OPEN_SQL,
        ),
        Index(
            "ix_ledger_hazards_open_official", "responsible_official_id", "deadline",
            postgresql_where=_OPEN_SQL, sqlite_where=_OPEN_SQL,
        ),
        Index("ix_ledger_hazards_found_unit", "found_on", "responsible_unit_id"),
        Index("ix_ledger_hazards_supervising", "supervising_unit_id", "status"),
        Index("ix_ledger_hazards_status_deadline", "status", "deadline"),
    )


class HazardEvent(Base):
    """The item's own history: who did what, when and why (the audit log mirrors it)."""

    __tablename__ = "ledger_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("ledger_hazards.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict | None] = mapped_column(JSON)


class ExtensionRequest(Base):
    __tablename__ = "ledger_extensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("ledger_hazards.id", ondelete="CASCADE"), index=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    old_deadline: Mapped[date] = mapped_column(Date)
    new_deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=ExtensionStatus.PENDING)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_note: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    __tablename__ = "ledger_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("ledger_hazards.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_events.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("hazard_id", "sha256", name="uq_ledger_attachments_hazard_sha"),)


class HazardBasis(Base):
    """A legal basis (article or duty rule) the user confirmed for an item."""

    __tablename__ = "ledger_basis"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("ledger_hazards.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="law")
    document: Mapped[str] = mapped_column(String(300))
    article: Mapped[str | None] = mapped_column(String(60))
    excerpt: Mapped[str | None] = mapped_column(Text)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attached_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("hazard_id", "document", "article", name="uq_ledger_basis_hazard_document"),
    )
