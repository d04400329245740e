"""A ``Reminder`` as one Telegram message: concise Chinese HTML for a phone, with buttons.

One message per reminder, never a flood: when the items do not fit in Telegram's 4096 characters
the message ends with "还有 N 项，发送 /hazards 查看". Buttons reuse the ledger's versioned
callbacks ("h:<action>:<number>:<version>"), so a button pressed after the item has changed
changes nothing; 已知悉 acknowledges the items of the message.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.telegram_bot.html_text import MESSAGE_LIMIT, bold, esc, visible_length
from bot.telegram_bot.ledger.common import action_data
from bot.telegram_bot.ledger.ops import STEP_ACTIONS
from bot.telegram_bot.ledger.text import BUTTON_LABELS, clip
from knowledge.numerals import int_to_cn
from knowledge.reminders.messages import Reminder, ReminderItem, ReminderKind, Urgency

DESCRIPTION_CHARS = 20
BUTTON_ITEMS = 5          # items that get action buttons (the most urgent ones)
ACK_PREFIX = "ack:"       # "ack:<kind>:<YYYYMMDD>": the recipient acknowledges that day's reminder
ACK_LABEL = "已知悉"
FOOTER_RESERVE = 40
WEEKDAYS = "一二三四五六日"

SECTION_TITLES = {
    Urgency.OVERDUE: "逾期",
    Urgency.DUE_TODAY: "今天到期",
    Urgency.DUE_SOON: "即将到期",
    Urgency.AWAITING_DECISION: "延期申请待您审批",
    Urgency.AWAITING_REVIEW: "整改完成待您复查",
    Urgency.WEEKLY_LISTED: "挂牌督办（每周进展）",
}


@dataclass(frozen=True)
class Rendered:
    text: str
    # Rows of (label, callback data).
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()
    shown: int = 0          # items listed in the text
    omitted: int = 0        # items left for /hazards


def day_heading(day: date) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def urgency_text(item: ReminderItem) -> str:
    """Days left or overdue, in working days, as HTML (overdue in bold)."""
    n = item.working_days
    if item.urgency == Urgency.OVERDUE:
        return bold(f"逾期{n}个工作日")
    if n <= 0:
        return esc("今天到期") if item.urgency == Urgency.DUE_TODAY else bold("已到期")
    return esc(f"剩{n}个工作日")


def item_line(item: ReminderItem, index: int, *, with_owner: bool = False) -> str:
    deadline = item.deadline.strftime("%m-%d")
    owner = ""
    if with_owner:
        owner = esc(item.responsible_official or item.responsible_unit) + "，"
    level = f"，第{item.escalation_level}级督办" if item.escalation_level else ""
    listed = "【挂牌】" if item.listed_supervision else ""
    return (f"{index}. {esc(item.number)} {esc(listed)}{esc(clip(item.description, DESCRIPTION_CHARS))}"
            f"（{owner}期限{deadline}，{urgency_text(item)}{esc(level)}）")


def ack_data(reminder: Reminder) -> str:
    return f"{ACK_PREFIX}{reminder.kind}:{reminder.day:%Y%m%d}"


def parse_ack(data: str) -> tuple[ReminderKind, date] | None:
    try:
        _, kind, day = data.split(":", 2)
        return ReminderKind(kind), date(int(day[:4]), int(day[4:6]), int(day[6:8]))
    except ValueError:
        return None


def _fit(head: list[str], body: list[tuple[str, int]], total: int, limit: int) -> tuple[list[str], int]:
    """Head lines plus as many body lines as fit; body is (line, items it lists)."""
    lines, size, shown = list(head), sum(visible_length(x) + 1 for x in head), 0
    for line, count in body:
        if size + visible_length(line) + 1 > limit - FOOTER_RESERVE:
            break
        lines.append(line)
        size += visible_length(line) + 1
        shown += count
    if shown < total:
        lines.append(esc(f"还有 {total - shown} 项，发送 /hazards 查看"))
    return lines, shown


def _sections(items: Sequence[ReminderItem], *, with_owner: bool) -> list[tuple[str, int]]:
    body: list[tuple[str, int]] = []
    current: Urgency | None = None
    for n, item in enumerate(items, 1):
        if item.urgency != current:
            current = item.urgency
            body.append(("", 0))
            body.append((bold(f"【{SECTION_TITLES.get(item.urgency, item.urgency)}】"), 0))
        body.append((item_line(item, n, with_owner=with_owner), 1))
    return body


def _item_buttons(items: Sequence[ReminderItem]) -> list[tuple[tuple[str, str], ...]]:
    rows = []
    for item in items[:BUTTON_ITEMS]:
        # Ledger steps with a versioned button in chat; others (deciding an extension) are done
        # from /hazard, which the text points to.
        codes = [STEP_ACTIONS[step] for step in item.actions if step in STEP_ACTIONS]
        cells = tuple((f"{item.number} {BUTTON_LABELS[code]}", action_data(code, item.number, item.version))
                      for code in codes)
        rows += [cells[i:i + 2] for i in range(0, len(cells), 2)]
    return rows


def render(reminder: Reminder, limit: int = MESSAGE_LIMIT) -> Rendered:
    if reminder.kind == ReminderKind.DIGEST:
        return _digest(reminder, limit)
    if reminder.kind == ReminderKind.ADMIN_SUMMARY:
        return _admin_summary(reminder, limit)
    escalation = reminder.kind == ReminderKind.ESCALATION
    title = "逾期隐患督办提醒" if escalation else "隐患整改提醒"
    counts: dict[Urgency, int] = {}
    for item in reminder.items:
        counts[item.urgency] = counts.get(item.urgency, 0) + 1
    summary = "，".join(f"{SECTION_TITLES[u]} {n}" for u, n in counts.items())
    head = [bold(f"{title} · {day_heading(reminder.day)}"),
            esc(f"{reminder.recipient.name}，您有 {len(reminder.items)} 项需要关注：{summary}。")]
    lines, shown = _fit(head, _sections(reminder.items, with_owner=escalation), len(reminder.items), limit)
    rows = _item_buttons(reminder.items[:shown])
    rows.append(((ACK_LABEL, ack_data(reminder)),))
    return Rendered("\n".join(lines).strip(), tuple(rows), shown, len(reminder.items) - shown)


def _digest(reminder: Reminder, limit: int) -> Rendered:
    """The unit group's daily 通报: counts, then overdue items by responsible unit and official."""
    head = [bold(f"隐患整改通报 · {day_heading(reminder.day)}"), esc(reminder.recipient.name)]
    counts = reminder.counts
    if reminder.all_clear or counts is None or (not reminder.items and not counts.open):
        head.append(esc("今日无逾期、无即将到期的隐患。"))
        return Rendered("\n".join(head))
    head.append(esc(f"在办 {counts.open} 项，其中逾期 {counts.overdue} 项、即将到期 {counts.due_soon} 项、"
                    f"挂牌督办 {counts.listed} 项。"))
    overdue = [i for i in reminder.items if i.urgency == Urgency.OVERDUE]
    body: list[tuple[str, int]] = []
    if overdue:
        body.append(("", 0))
        body.append((bold("逾期隐患："), 0))
    units: dict[str, list[ReminderItem]] = {}
    for item in overdue:
        units.setdefault(item.responsible_unit, []).append(item)
    for n, (unit, items) in enumerate(units.items(), 1):
        body.append((bold(f"{int_to_cn(n)}、{unit}"), 0))
        for k, item in enumerate(items, 1):
            body.append((item_line(item, k, with_owner=bool(item.responsible_official)), 1))
    lines, _ = _fit(head, body, len(overdue), limit)
    return Rendered("\n".join(lines).strip(), (), len(overdue), 0)


def _admin_summary(reminder: Reminder, limit: int) -> Rendered:
    people: dict[str, set[str]] = {}
    for entry in reminder.unreachable:
        people.setdefault(entry.reason, set()).add(entry.name)
    summary = "、".join(f"{len(names)} 人{reason}" for reason, names in people.items())
    head = [bold(f"提醒送达情况 · {day_heading(reminder.day)}"),
            esc(f"{summary}，以下事项无法送达：" if summary else "今日提醒全部送达。")]
    body = [(esc(f"{u.name}（{u.reason}）：{'、'.join(u.items) or '—'}"), 1) for u in reminder.unreachable]
    lines, _ = _fit(head, body, len(body), limit)
    return Rendered("\n".join(lines).strip())
