"""Reminder text for group robots, shared by 企业微信, 钉钉 and 飞书.

A reminder becomes a title, a few summary lines and one self-contained block per item. Each
platform turns these into its own payload; ``fit`` then keeps as many whole items as the
platform's size limit (and a phone screen) allows and ends with "还有 N 项" — a message is never
cut mid-item and never split, so one reminder is exactly one request (exactly-once stays simple).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from knowledge.reminders.messages import Reminder, ReminderItem, ReminderKind, Urgency

# More than this many items is a list nobody reads on a phone; the rest are counted.
MAX_ITEMS = 20
DESCRIPTION_CHARS = 40
TEST_TEXT = "隐患整改提醒：群机器人连接测试。看到这条消息，说明机器人配置正确。"

T = TypeVar("T")


@dataclass(frozen=True)
class ItemBlock:
    text: str                   # one line, plain text
    phone: str | None = None    # the official to @-mention, when mentions are on
    name: str | None = None


@dataclass(frozen=True)
class RobotText:
    title: str
    summary: tuple[str, ...]
    items: tuple[ItemBlock, ...] = ()
    footer: str | None = None
    mentions: tuple[str, ...] = field(default=())  # phones, in order of first appearance

    def more_line(self, shown: int) -> str | None:
        rest = len(self.items) - shown
        return f"……还有 {rest} 项，请在隐患台账中查看。" if rest > 0 else None


def _md(value: object) -> str:
    return f"{value.month}月{value.day}日"  # type: ignore[attr-defined]


def urgency_text(item: ReminderItem) -> str:
    days = item.working_days
    return {
        Urgency.OVERDUE: f"逾期{days}个工作日",
        Urgency.DUE_TODAY: "今日到期",
        Urgency.DUE_SOON: f"{days}个工作日后到期",
        Urgency.AWAITING_DECISION: "延期申请待审批",
        Urgency.AWAITING_REVIEW: "待复查",
        Urgency.WEEKLY_LISTED: "挂牌督办",
    }[item.urgency]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1] + "…"


def _item_block(item: ReminderItem, mention: bool) -> ItemBlock:
    who = item.responsible_unit + (f"·{item.responsible_official}" if item.responsible_official else "")
    level = f"，第{item.escalation_level}级督办" if item.escalation_level else ""
    listed = "【挂牌督办】" if item.listed_supervision and item.urgency is not Urgency.WEEKLY_LISTED else ""
    text = (f"{item.number}{listed} {_short(item.description)}（{who}；截止{_md(item.deadline)}，"
            f"{urgency_text(item)}{level}）")
    phone = item.responsible_phone if mention and item.responsible_official else None
    return ItemBlock(text=text, phone=phone, name=item.responsible_official)


def _counts_line(items: tuple[ReminderItem, ...]) -> str:
    by = {u: sum(1 for i in items if i.urgency is u) for u in Urgency}
    parts = [f"共 {len(items)} 项"]
    for urgency, label in ((Urgency.OVERDUE, "逾期"), (Urgency.DUE_TODAY, "今日到期"),
                           (Urgency.DUE_SOON, "即将到期"), (Urgency.AWAITING_REVIEW, "待复查"),
                           (Urgency.AWAITING_DECISION, "待审批")):
        if by[urgency]:
            parts.append(f"{label} {by[urgency]} 项")
    return "，".join(parts) + "。"


def reminder_text(reminder: Reminder, *, mention: bool) -> RobotText:
    """The group-robot text of a reminder. ``mention``: public reminders naming officials."""
    unit = reminder.recipient.name
    day = _md(reminder.day)
    if reminder.kind is ReminderKind.DIGEST:
        counts = reminder.counts
        summary = [f"在办 {counts.open} 项｜逾期 {counts.overdue} 项｜即将到期 {counts.due_soon} 项｜"
                   f"挂牌督办 {counts.listed} 项"] if counts else []
        if reminder.all_clear or not reminder.items:
            summary.append("今日没有逾期或即将到期的隐患。")
            return RobotText(f"隐患整改日报｜{unit} {day}", tuple(summary))
        summary.append("逾期及即将到期事项：")
        blocks = tuple(_item_block(i, mention=False) for i in reminder.items)
        return RobotText(f"隐患整改日报｜{unit} {day}", tuple(summary), blocks)

    title = {ReminderKind.DAILY: f"隐患待办提醒｜{unit} {day}",
             ReminderKind.ESCALATION: f"隐患逾期督办｜{unit} {day}"}.get(
        reminder.kind, f"隐患整改提醒｜{unit} {day}")
    people = {i.responsible_official for i in reminder.items if i.responsible_official}
    if not mention:
        # Private deployments: the group sees how much is pending, not who is behind.
        who = f"{len(people)} 位责任人" if people else "本单位"
        lines = [f"{who}有待办隐患：{_counts_line(reminder.items)}", "详情已发给本人，或请在隐患台账中查看。"]
        if reminder.kind is ReminderKind.ESCALATION:
            lines[0] = f"逾期隐患已升级督办：{_counts_line(reminder.items)}"
        return RobotText(title, tuple(lines))
    blocks = tuple(_item_block(i, mention=True) for i in reminder.items)
    phones = tuple(dict.fromkeys(b.phone for b in blocks if b.phone))
    lead = "请以下责任人按期整改：" if reminder.kind is ReminderKind.DAILY else "以下隐患已逾期，升级督办："
    return RobotText(title, (lead,), blocks, mentions=phones)


def fit(render: Callable[[int], T], size: Callable[[T], int], total: int, budget: int) -> T:
    """The largest rendering (``render(k)`` shows the first k items) whose ``size`` fits ``budget``."""
    shown = min(total, MAX_ITEMS)
    while shown > 0:
        candidate = render(shown)
        if size(candidate) <= budget:
            return candidate
        # Shrink proportionally first (long lists), then one by one near the limit.
        over = size(candidate) / budget
        shown = min(shown - 1, int(shown / over)) if over > 1.2 else shown - 1
    return render(0)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))
