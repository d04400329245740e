"""ORM model of a group-robot channel. Keep in sync with ``migrations/versions/0007_channels.py``.

The webhook URL (which carries the robot's key) and the signing secret are stored encrypted;
the ``*_masked`` columns hold the only forms that are ever displayed. Which unit's digest the
robot receives is a ``reminder_chat_links`` row (kind, robot name), and a robot the platform
refused for good is a ``reminder_undeliverable`` row, like every other destination: the planner
and the admin summary need no robot-specific code, and there is one "broken" flag, not two.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.db import Base
from knowledge.models import utcnow


class RobotKind(StrEnum):
    WECOM = "wecom"        # 企业微信
    DINGTALK = "dingtalk"  # 钉钉
    FEISHU = "feishu"      # 飞书

    @property
    def label(self) -> str:
        return {"wecom": "企业微信", "dingtalk": "钉钉", "feishu": "飞书"}[self.value]


class RobotChannel(Base):
    __tablename__ = "robot_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), unique=True)
    webhook_encrypted: Mapped[str] = mapped_column(Text)
    webhook_masked: Mapped[str] = mapped_column(String(300))
    # SHA-256 of the URL: refuses the same robot twice without decrypting every row.
    webhook_digest: Mapped[str] = mapped_column(String(64), unique=True)
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    secret_masked: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
