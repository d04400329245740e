"""Tables of the reminder domain: group links, acknowledgements, escalations, undeliverable recipients.

Keep in sync with ``knowledge/migrations/versions/0005_reminders.py``. The delivery outbox is not
here: it belongs to the dispatcher.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base
from knowledge.models import utcnow


class ChatLink(Base):
    """A chat destination (a Telegram group, a group robot) that receives one unit's daily digest."""

    __tablename__ = "reminder_chat_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("ledger_units.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))        # channel kind: "telegram", "wecom", ...
    address: Mapped[str] = mapped_column(String(200))    # channel address: chat id as text, robot name
    linked_by: Mapped[str] = mapped_column(String(100))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # A group reports for one unit only: two digests a day in one group would be noise.
    __table_args__ = (UniqueConstraint("kind", "address", name="uq_reminder_chat_links_kind_address"),)


class Acknowledgement(Base):
    """已知悉: an official confirmed on ``day`` that they saw the reminder about an item."""

    __tablename__ = "reminder_acks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("ledger_hazards.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    official_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_officials.id", ondelete="SET NULL"))
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # Pressing the button twice on one day records it once.
    __table_args__ = (UniqueConstraint("hazard_id", "actor", "day", name="uq_reminder_acks_hazard_actor_day"),)


class Escalation(Base):
    """One escalation level fired for one item: each level fires once per item, ever."""

    __tablename__ = "reminder_escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("ledger_hazards.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    fired_on: Mapped[date] = mapped_column(Date)
    recipients: Mapped[str | None] = mapped_column(Text)   # names, for the history line
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("hazard_id", "level", name="uq_reminder_escalations_hazard_level"),)


class Undeliverable(Base):
    """A destination that failed for good (blocked the bot, left the group, invalid robot key).

    The dispatcher marks it; the planner then reports it to the admins instead of sending to it
    every day; an admin clears it once the cause is fixed.
    """

    __tablename__ = "reminder_undeliverable"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(200))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "address", name="uq_reminder_undeliverable_kind_address"),
        Index("ix_reminder_undeliverable_marked_at", "marked_at"),
    )
