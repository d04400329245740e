"""ORM models of duty rules and their version history."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base
from knowledge.models import utcnow


class DutyRule(Base):
    """The current version of one rule; earlier versions live in ``DutyRuleHistory``."""

    __tablename__ = "duty_rules"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    layer: Mapped[str] = mapped_column(String(20))
    party: Mapped[str] = mapped_column(String(100))
    duty: Mapped[str] = mapped_column(Text)
    # [{"document", "article", "evidence"}]: evidence is a verbatim phrase of the article.
    basis: Mapped[list] = mapped_column(JSON)
    law_wording: Mapped[str | None] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(40), default="全国")
    note: Mapped[str | None] = mapped_column(Text)
    # "bundled" for the shipped rule set, otherwise the name of the file an admin loaded.
    source: Mapped[str] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, default=1)
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100))


class DutyRuleHistory(Base):
    """A superseded or removed version of a rule (no foreign key: history outlives removal)."""

    __tablename__ = "duty_rule_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    # "update" (replaced by a newer version) or "remove".
    change: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_duty_rule_history_rule", "rule_id", "version"),)
