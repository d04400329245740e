"""How ledger items, lists and statistics read in chat: escaped HTML lines, phone-width.

Every function returns lines for ``replies.send_lines``/``split_lines``: each line is balanced
HTML on its own, and anything that came from a user or the database goes through ``esc``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

from bot.telegram_bot.html_text import bold, esc
from knowledge.ledger.basis import BasisSuggestion, MajorHazardFlag
from knowledge.ledger.models import ExtensionStatus, Level, Status
from knowledge.ledger.statemachine import ACTION_LABELS
from knowledge.reminders.escalation import level_name
from knowledge.ledger.views import (
    CreateResult,
    HazardSummary,
    HazardView,
    StatsReport,
    StatsRow,
)

HISTORY_ENTRIES = 5
LIST_DESCRIPTION_CHARS = 18
SUMMARY_DESCRIPTION_CHARS = 300
STATS_ROWS = 30
STATS_NAME_WIDTH = 12  # display columns (a Chinese character takes two)

NOT_BOUND = "请先绑定账号：向管理员索取绑定码，然后私聊我发送 /bind 绑定码。"

# Callback data: "h:<action>:<number>:<version>" (Telegram allows 64 bytes; numbers are ~12).
BUTTON_LABELS = {
    "prog": "更新进度",
    "ext": "申请延期",
    "rev": "申请复查",
    "ok": "复查通过(销号)",
    "no": "复查不通过",
}
_ACTOR_LABEL = re.compile(r"^official:\d+ ")


def who(label: str) -> str:
    """A history/audit actor label as a person reads it ("official:3 张三" → "张三")."""
    return _ACTOR_LABEL.sub("", label or "")


def clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def day(value: date, today: date) -> str:
    return value.strftime("%m-%d") if value.year == today.year else value.isoformat()


def due_text(item: HazardSummary) -> str:
    """Days left or overdue, as plain text."""
    if item.status == Status.CLOSED:
        return f"已销号{item.closed_on.isoformat() if item.closed_on else ''}"
    days = item.days_left or 0
    if item.overdue:
        return f"逾期{-days}天"
    return "今天到期" if days == 0 else f"剩{days}天"


def due_html(item: HazardSummary) -> str:
    text = esc(due_text(item))
    return f"<b>{text}</b>" if item.overdue else text


def summary_line(item: HazardSummary, today: date) -> str:
    """One compact line per item: number, status, deadline (days left / overdue), who, what."""
    owner = item.responsible_official or item.responsible_unit
    return (f"{esc(item.number)} {esc(item.status)} {esc(day(item.deadline, today))}（{due_html(item)}）"
            f"{esc(owner)} {esc(clip(item.description, LIST_DESCRIPTION_CHARS))}")


def list_section(title: str, items: Sequence[HazardSummary], total: int, today: date) -> list[str]:
    lines = [bold(f"{title}（{total}条）")]
    if not items:
        return lines + [esc("暂无。")]
    lines += [summary_line(item, today) for item in items]
    if total > len(items):
        lines.append(esc(f"……另有 {total - len(items)} 条未列出。"))
    return lines


def detail_lines(view: HazardView) -> list[str]:
    level = view.level + ("（疑似重大，请对照判定标准核实）" if view.major_suspected and view.level != Level.MAJOR else "")
    lines = [
        f"<b>{esc(view.number)}</b> {esc(view.status)}" + (f"（{due_html(view)}）" if view.overdue else ""),
        esc(f"隐患描述：{view.description}"),
        esc(f"所在单位：{view.unit}" + (f"，位置：{view.location}" if view.location else "")),
        esc(f"整改责任：{view.responsible_unit}" + (f" / {view.responsible_official}" if view.responsible_official else "")),
        esc(f"等级：{level}；发现：{view.found_on.isoformat()}（{view.source}）"),
        f"{esc('整改时限：' + view.deadline.isoformat())}"
        + (f"（{due_html(view)}）" if view.status != Status.CLOSED else ""),
        esc(f"督办：{view.supervising_unit or '未指定'}" + ("（挂牌督办）" if view.listed_supervision else "")),
    ]
    if view.closed_on:
        lines.append(esc(f"销号日期：{view.closed_on.isoformat()}"))
    pending = [x for x in view.extensions if x.status == ExtensionStatus.PENDING]
    if pending:
        lines.append(esc(f"延期申请：待审批，申请延至 {pending[-1].new_deadline.isoformat()}（{pending[-1].reason}）"))
    basis = "；".join(f"{b.document}{b.article or ''}" for b in view.basis)
    lines.append(esc(f"依据：{basis or '尚未添加'}"))
    lines.append(esc(f"附件：{len(view.attachments)} 个"))
    if view.escalations:
        lines.append(esc("逾期升级：" + "；".join(f"{level_name(x.level)} {x.fired_on:%m-%d}" for x in view.escalations)))
    if view.history:
        lines.append(bold("最近记录："))
        for event in view.history[-HISTORY_ENTRIES:]:
            action = ACTION_LABELS.get(event.action, event.action)
            note = f"：{clip(event.note, 80)}" if event.note else ""
            lines.append(esc(f"· {event.at:%m-%d %H:%M} {who(event.actor)} {action}{note}"))
    return lines


def flag_lines(flags: Sequence[MajorHazardFlag]) -> list[str]:
    if not flags:
        return []
    lines = [bold("⚠ 描述与重大事故隐患情形相似，请对照判定标准核实：")]
    lines += [esc(f"· {f.excerpt}（{f.document}{f.article or ''}）") for f in flags]
    return lines


def suggestion_lines(suggestions: Sequence[BasisSuggestion]) -> list[str]:
    if not suggestions:
        return []
    lines = [bold("可能的依据（供核对）：")]
    lines += [esc(f"{i}. {s.document}{s.article or ''}：{clip(s.excerpt, 60)}")
              for i, s in enumerate(suggestions, 1)]
    return lines


def created_lines(result: CreateResult, photos: int) -> list[str]:
    item = result.item
    lines = [f"已登记隐患 <b>{esc(item.number)}</b>，整改时限 {esc(item.deadline.isoformat())}。"]
    if photos:
        lines.append(esc(f"已保存现场照片/文件 {photos} 个。"))
    if item.level != Level.MAJOR:
        lines += flag_lines(result.major_flags)
    basis = [s for s in result.suggestions if (s.document, s.article) not in
             {(f.document, f.article) for f in result.major_flags}]
    lines += suggestion_lines(basis)
    lines.append(esc(f"查看详情：/hazard {item.number}"))
    return lines


# ---- statistics --------------------------------------------------------------------------------
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """Left-aligned in ``width`` display columns, cut with … if longer."""
    if _width(text) > width:
        while _width(text + "…") > width:
            text = text[:-1]
        text += "…"
    return text + " " * (width - _width(text))


def _right(text: object, width: int) -> str:
    text = str(text)
    return " " * max(0, width - _width(text)) + text


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


# (heading, display width) of the ranking columns, joined by a space: about 39 columns, which
# fit a phone screen in monospace.
STATS_COLUMNS = (("名次", 4), ("单位", STATS_NAME_WIDTH), ("总数", 4), ("未销", 4), ("逾期", 4), ("整改率", 6))


def _stats_row(row: StatsRow) -> str:
    values = (row.rank or "—", row.unit, row.total, row.open, row.overdue, _pct(row.rectification_rate))
    return " ".join(_fit(str(v), w) if i == 1 else _right(v, w)
                    for i, (v, (_, w)) in enumerate(zip(values, STATS_COLUMNS))).rstrip()


def stats_lines(report: StatsReport) -> list[str]:
    """A heading and the ranking as one <pre> block (escaped; one element, so it is never split)."""
    head = " ".join(_fit(name, w) if i == 1 else _right(name, w) for i, (name, w) in enumerate(STATS_COLUMNS))
    table = [head] + [_stats_row(row) for row in report.rows[:STATS_ROWS]] + [_stats_row(report.total)]
    lines = [
        bold(f"{report.unit} 隐患整改统计"),
        esc(f"发现日期 {report.start.isoformat()} 至 {report.end.isoformat()}，截至 {report.as_of.isoformat()}"),
        "<pre>" + esc("\n".join(table)) + "</pre>",
    ]
    if len(report.rows) > STATS_ROWS:
        lines.append(esc(f"另有 {len(report.rows) - STATS_ROWS} 个单位未列出。"))
    lines.append(esc("整改率 = 已销号/总数；逾期 = 未销号且已过整改时限。"))
    return lines


def chart_caption(report: StatsReport) -> str:
    return esc(f"{report.unit} 隐患整改排名（{report.start.isoformat()}～{report.end.isoformat()}）："
               "绿色为整改率，红色为逾期率。")
