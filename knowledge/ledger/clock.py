"""An injectable clock: 'now' and 'today' in the deployment's time zone (Asia/Shanghai)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Clock:
    tz: str = "Asia/Shanghai"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(ZoneInfo(self.tz)).date()

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:  # SQLite hands back naive UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(ZoneInfo(self.tz))


@dataclass(frozen=True)
class FixedClock(Clock):
    """A clock stopped at one moment, for tests and for replaying a given day."""

    at: datetime = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at
