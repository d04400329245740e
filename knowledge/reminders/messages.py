"""Platform-neutral reminder content: what the planner decides, before any channel renders it.

Every channel (Telegram, 企业微信/钉钉/飞书 group robots) renders a ``Reminder`` in its own format and
within its own size limits; nothing here knows how. Fields may be added; existing ones keep their
meaning, because rendered text and the outbox both rely on them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple


class ReminderKind(StrEnum):
    DAILY = "daily"                  # one official's own items
    DIGEST = "digest"                # one unit's group: counts and overdue items of the unit and below
    ESCALATION = "escalation"        # overdue items climbing the chain of supervisors and units
    ADMIN_SUMMARY = "admin_summary"  # who could not be reached, and why


class Urgency(StrEnum):
    """Why an item is in a reminder; the order of the members is the order of urgency."""

    OVERDUE = "overdue"
    DUE_TODAY = "due_today"
    DUE_SOON = "due_soon"
    AWAITING_DECISION = "awaiting_decision"  # an extension request waits for this recipient
    AWAITING_REVIEW = "awaiting_review"      # 待复查 for longer than the configured wait
    WEEKLY_LISTED = "weekly_listed"          # 挂牌督办: the weekly progress nudge

    @property
    def rank(self) -> int:
        return list(Urgency).index(self)


class RecipientKind(StrEnum):
    OFFICIAL = "official"
    GROUP = "group"
    ADMIN = "admin"


class Destination(NamedTuple):
    """Where a channel delivers: its ``kind`` ("telegram", "wecom", …) and an ``address`` in it."""

    kind: str
    address: str


@dataclass(frozen=True)
class Recipient:
    kind: RecipientKind
    name: str                          # official's name, unit name for a group, admin's name
    official_id: int | None = None
    unit_id: int | None = None
    phone: str | None = None           # group robots @-mention officials by phone number
    # Where this recipient's reminder goes: an official's bound chat account, a unit's linked groups
    # and robots. Empty when nobody can be reached; the planner then also lists the recipient in
    # the admin summary. Destinations marked undeliverable are left out.
    destinations: tuple[Destination, ...] = ()


@dataclass(frozen=True, slots=True)  # slots: a large day plans hundreds of thousands of these
class ReminderItem:
    number: str                        # 隐患编号, e.g. YH-2026-0001
    description: str                   # full text; channels shorten it to fit
    deadline: date
    urgency: Urgency
    # Working days left before the deadline (>= 0), or working days overdue (> 0) when OVERDUE.
    working_days: int
    responsible_unit: str
    responsible_official: str | None = None
    responsible_phone: str | None = None
    status: str = ""
    listed_supervision: bool = False   # 挂牌督办
    escalation_level: int | None = None
    version: int = 1                   # the item's version, carried by versioned action buttons
    # Ledger actions the recipient may take on the item (statemachine action codes), for buttons.
    actions: tuple[str, ...] = ()
    # The latest 已知悉 of the item (any person), shown to supervisors and in group digests.
    acknowledged_on: date | None = None
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class DigestCounts:
    open: int = 0
    due_soon: int = 0
    overdue: int = 0
    listed: int = 0                    # 挂牌督办


@dataclass(frozen=True)
class Unreachable:
    """A person or group the planner could not reach, for the admin summary."""

    name: str
    reason: str                        # e.g. "未绑定", "已屏蔽机器人", "群机器人失效"
    items: tuple[str, ...] = ()        # item numbers that therefore went undelivered


@dataclass(frozen=True)
class Reminder:
    """One message for one recipient on one day: the unit of delivery and of exactly-once."""

    day: date
    kind: ReminderKind
    recipient: Recipient
    items: tuple[ReminderItem, ...] = ()   # most urgent first
    counts: DigestCounts | None = None     # digests only
    unreachable: tuple[Unreachable, ...] = ()  # admin summaries only
    all_clear: bool = False                # a digest with nothing to report

    @property
    def item_numbers(self) -> list[str]:
        return [item.number for item in self.items]
