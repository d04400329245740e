"""Working-day arithmetic against the State Council's published 2025 and 2026 schedules."""
import json
from datetime import date, timedelta

import pytest

from knowledge.ledger.errors import LedgerError
from knowledge.ledger.workdays import HolidayCalendar, parse_date, parse_deadline


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return HolidayCalendar.load()


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_2025_national_day_and_mid_autumn(cal):
    assert not any(cal.is_workday(d) for d in _days(date(2025, 10, 1), date(2025, 10, 8)))
    assert cal.is_workday(date(2025, 9, 28))  # Sunday, make-up working day
    assert cal.is_workday(date(2025, 10, 11))  # Saturday, make-up working day
    assert not cal.is_workday(date(2025, 9, 27)) and not cal.is_workday(date(2025, 10, 12))
    assert cal.add_workdays(date(2025, 9, 26), 1) == date(2025, 9, 28)
    assert cal.add_workdays(date(2025, 9, 28), 1) == date(2025, 9, 29)
    assert cal.add_workdays(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert cal.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)


def test_2025_spring_festival_and_may_day(cal):
    assert cal.is_workday(date(2025, 1, 26)) and cal.is_workday(date(2025, 2, 8))
    assert not any(cal.is_workday(d) for d in _days(date(2025, 1, 28), date(2025, 2, 4)))
    assert cal.add_workdays(date(2025, 1, 27), 1) == date(2025, 2, 5)
    assert cal.is_workday(date(2025, 4, 27))
    assert not any(cal.is_workday(d) for d in _days(date(2025, 5, 1), date(2025, 5, 5)))
    assert not cal.is_workday(date(2025, 1, 1)) and not cal.is_workday(date(2025, 6, 2))


def test_2026_spring_festival(cal):
    assert cal.is_workday(date(2026, 2, 14)) and cal.is_workday(date(2026, 2, 28))  # Saturdays
    assert not any(cal.is_workday(d) for d in _days(date(2026, 2, 15), date(2026, 2, 23)))
    assert cal.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert cal.add_workdays(date(2026, 2, 14), 1) == date(2026, 2, 24)
    # February 2026: 20 weekdays, 6 of them holidays, plus 2 make-up Saturdays.
    assert cal.workdays_between(date(2026, 1, 31), date(2026, 2, 28)) == 16


def test_2026_other_holidays(cal):
    assert not cal.is_workday(date(2026, 1, 2)) and cal.is_workday(date(2026, 1, 4))
    assert cal.is_workday(date(2026, 5, 9)) and not cal.is_workday(date(2026, 5, 5))
    assert not cal.is_workday(date(2026, 6, 19)) and not cal.is_workday(date(2026, 9, 25))
    assert cal.is_workday(date(2026, 9, 20)) and cal.is_workday(date(2026, 10, 10))
    assert not any(cal.is_workday(d) for d in _days(date(2026, 10, 1), date(2026, 10, 7)))
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_ordinary_weeks(cal):
    assert cal.add_workdays(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday -> Monday
    assert cal.add_workdays(date(2026, 3, 2), 5) == date(2026, 3, 9)


@pytest.mark.parametrize("text,expected", [
    ("5个工作日", date(2026, 3, 9)),
    ("5 个工作日", date(2026, 3, 9)),
    ("５个工作日", date(2026, 3, 9)),
    ("十个工作日", date(2026, 3, 16)),
    ("10个自然日", date(2026, 3, 12)),
    ("10天", date(2026, 3, 12)),
    ("2026-03-31", date(2026, 3, 31)),
    ("2026/3/31", date(2026, 3, 31)),
    ("2026年3月31日", date(2026, 3, 31)),
    ("2026.03.02", date(2026, 3, 2)),
])
def test_parse_deadline_accepts(cal, text, expected):
    assert parse_deadline(text, date(2026, 3, 2), cal) == expected


@pytest.mark.parametrize("text,fragment", [
    ("2026/13/01", "月份应在1到12之间"),
    ("2026-02-30", "没有30日"),
    ("下周五", "无法识别"),
    ("尽快", "无法识别"),
    ("2026-03-01", "早于今天"),
    ("0个工作日", "大于0"),
    ("", "不能为空"),
])
def test_parse_deadline_refuses(cal, text, fragment):
    with pytest.raises(LedgerError) as err:
        parse_deadline(text, date(2026, 3, 2), cal)
    assert fragment in err.value.message


def test_years_without_a_published_schedule_are_refused_not_guessed(cal, tmp_path):
    # The first year the installed chinese-calendar does not have (2027 with 1.11.0).
    year = max(HolidayCalendar.from_package().years) + 1
    with pytest.raises(LedgerError, match=f"{year}年的法定节假日安排尚未录入"):
        parse_deadline("10个工作日", date(year - 1, 12, 28), cal)
    extra = tmp_path / "holidays.json"
    extra.write_text(json.dumps({str(year): {"holidays": [[f"{year}-01-01", f"{year}-01-07", "元旦"]],
                                             "workdays": []}}), "utf-8")
    cal2 = HolidayCalendar.load(extra)
    assert not any(cal2.is_workday(d) for d in _days(date(year, 1, 1), date(year, 1, 7)))
    first = date(year, 1, 8)
    while first.weekday() >= 5:
        first += timedelta(days=1)
    assert parse_deadline("1个工作日", date(year - 1, 12, 31), cal2) == first


def test_the_package_wins_over_an_override_file_for_published_years(tmp_path):
    extra = tmp_path / "holidays.json"
    extra.write_text('{"2026": {"holidays": [["2026-03-02", "2026-03-06", "错录"]], "workdays": ["2026-10-01"]}}',
                     "utf-8")
    cal = HolidayCalendar.load(extra)
    assert cal.is_workday(date(2026, 3, 2)) and not cal.is_workday(date(2026, 10, 1))


def test_the_schedules_come_from_chinese_calendar(cal):
    assert {2004, 2020, 2025, 2026} <= cal.years
    assert cal.holidays[date(2026, 2, 17)] == "春节" and cal.holidays[date(2025, 10, 6)] == "中秋节"
    assert not cal.is_workday(date(2020, 1, 30))  # the 2020 Spring Festival extension is in the package


def test_parse_date_formats():
    assert parse_date("20260315") == date(2026, 3, 15)
    with pytest.raises(LedgerError):
        parse_date("3月15日")
