"""Counting working days for a whole day's plan at once.

``HolidayCalendar.workdays_between`` walks day by day and refuses years without a published
schedule; a plan counts for hundreds of thousands of items, many of them from past years of an
imported ledger. This counter answers from a prefix sum over the needed range and, for years the
State Council has not published (or that nobody loaded), falls back to Monday–Friday: a reminder
that says "overdue 3 working days" when it was 2 is better than no reminder at all.
"""
from __future__ import annotations

from datetime import date, timedelta

from knowledge.ledger.workdays import HolidayCalendar


class WorkdayCounter:
    def __init__(self, calendar: HolidayCalendar) -> None:
        self.calendar = calendar
        self._start: date | None = None
        self._cumulative: list[int] = []  # working days in (start, start + i]

    def is_workday(self, day: date) -> bool:
        if self.calendar.covers(day):
            return self.calendar.is_workday(day)
        return day.weekday() < 5

    def add(self, start: date, n: int) -> date:
        """The n-th working day after ``start``; ``start`` itself when n is 0."""
        day = start
        while n > 0:
            day += timedelta(days=1)
            n -= self.is_workday(day)
        return day

    def prepare(self, first: date, last: date) -> None:
        """Precompute counts for dates in [first, last]; other dates are counted day by day."""
        self._start = first
        total, cumulative = 0, [0]
        day = first
        while day < last:
            day += timedelta(days=1)
            total += self.is_workday(day)
            cumulative.append(total)
        self._cumulative = cumulative

    def between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end is not after start."""
        if end <= start:
            return 0
        if self._start is not None and start >= self._start:
            i, j = (start - self._start).days, (end - self._start).days
            if j < len(self._cumulative):
                return self._cumulative[j] - self._cumulative[i]
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count
