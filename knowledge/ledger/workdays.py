"""The Chinese working-day calendar and parsing of rectification deadlines.

Working days are Monday–Friday, minus statutory holidays, plus the weekend days declared working
days (调休) in the State Council General Office's yearly notice. The schedules come from the
``chinese-calendar`` package, which is updated with each year's notice (2004 onwards). For a year
the installed package does not have yet, an administrator can add the notice with a JSON file
(``<data_dir>/ledger/holidays.json`` or ``SAFETYBOT_HOLIDAY_FILE``; format below); for years the
package has, the package wins. Counting into a year without a published schedule is refused
rather than guessed, because a wrong deadline is worse than none.

Override file format::

    {"2027": {"source": "国务院办公厅关于2027年部分节假日安排的通知",
              "holidays": [["2027-01-01", "2027-01-03", "元旦"], ...],
              "workdays": ["2027-02-07", ...]}}
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from knowledge.ledger.errors import LedgerError
from knowledge.textnorm import fullwidth_to_halfwidth

log = logging.getLogger(__name__)

# chinese-calendar names holidays in English.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}


@dataclass
class HolidayCalendar:
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: set[date] = field(default_factory=set)
    years: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, *extra: Path) -> HolidayCalendar:
        """The published schedules of ``chinese-calendar``, plus override files for later years."""
        cal = cls.from_package()
        published = set(cal.years)
        for path in extra:
            if path and Path(path).is_file():
                data = json.loads(Path(path).read_text("utf-8"))
                ignored = sorted(k for k in data if k.isdigit() and int(k) in published)
                if ignored:
                    log.info("%s: years %s are taken from chinese-calendar, not from this file", path, ignored)
                cal.merge({k: v for k, v in data.items() if k not in ignored})
        return cal

    @classmethod
    def from_package(cls) -> HolidayCalendar:
        from chinese_calendar import constants

        cal = cls()
        for day, name in constants.holidays.items():
            cal.holidays[day] = HOLIDAY_NAMES.get(name, name)
        cal.workdays.update(constants.workdays)
        cal.years.update(day.year for day in constants.holidays)
        return cal

    def merge(self, data: dict) -> None:
        for key, year in data.items():
            if not key.isdigit():
                continue
            self.years.add(int(key))
            for start, end, name in year.get("holidays", []):
                day, last = date.fromisoformat(start), date.fromisoformat(end)
                while day <= last:
                    self.holidays[day] = name
                    day += timedelta(days=1)
            self.workdays.update(date.fromisoformat(d) for d in year.get("workdays", []))

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def is_workday(self, day: date) -> bool:
        if not self.covers(day):
            raise LedgerError(
                f"{day.year}年的法定节假日安排尚未录入，无法按工作日计算；请改填具体日期，"
                "或请管理员补充该年的节假日安排。"
            )
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself is not counted)."""
        if n < 1:
            raise LedgerError("工作日数应为正整数。")
        day, counted = start, 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        day, counted = start, 0
        while day < end:
            day += timedelta(days=1)
            counted += self.is_workday(day)
        return counted


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_RELATIVE = re.compile(r"^(\d+|[零一二两三四五六七八九十百]+)\s*(个)?\s*(工作日|自然日|天|日)$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
HINT = "请填写具体日期（如 2026-12-31）或“N个工作日”“N个自然日”。"


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return total + current


def parse_date(text: str) -> date:
    """A calendar date in the usual Chinese spellings; a clear message otherwise."""
    raw = fullwidth_to_halfwidth(str(text)).strip()
    match = _DATE.match(raw) or _COMPACT.match(raw)
    if not match:
        raise LedgerError(f"无法识别的日期“{text}”。{HINT}")
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12:
        raise LedgerError(f"日期“{text}”无效：月份应在1到12之间。")
    try:
        return date(year, month, day)
    except ValueError:
        raise LedgerError(f"日期“{text}”无效：{year}年{month}月没有{day}日。") from None


def parse_deadline(
    text: str | date, today: date, calendar: HolidayCalendar, *, allow_past: bool = False,
    base: date | None = None,
) -> date:
    """A deadline from a date or "N个工作日"/"N个自然日"/"N天", counted from ``base`` (default today)."""
    base = base or today
    if isinstance(text, date):
        deadline = text
    else:
        raw = fullwidth_to_halfwidth(str(text)).strip()
        if not raw:
            raise LedgerError(f"整改时限不能为空。{HINT}")
        rel = _RELATIVE.match(raw)
        if rel:
            n = _cn_number(rel.group(1))
            if n < 1:
                raise LedgerError("整改时限的天数应大于0。")
            if n > 3650:
                raise LedgerError("整改时限过长（超过十年），请核对。")
            if rel.group(3) == "工作日":
                return calendar.add_workdays(base, n)
            return base + timedelta(days=n)
        if not re.search(r"\d", raw):
            raise LedgerError(f"无法识别的整改时限“{text}”。{HINT}")
        deadline = parse_date(raw)
    if deadline < today and not allow_past:
        raise LedgerError(f"整改时限{deadline.isoformat()}早于今天（{today.isoformat()}），请核对。")
    return deadline
