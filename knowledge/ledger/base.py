"""Shared plumbing of the ledger service: settings, clock, calendar, transactions, audit."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from knowledge import audit
from knowledge.config import Settings
from knowledge.db import transaction
from knowledge.ledger import numbering
from knowledge.ledger.basis import BasisSuggester
from knowledge.ledger.clock import Clock
from knowledge.ledger.errors import ConcurrentChange
from knowledge.ledger.models import Official, Unit
from knowledge.ledger.permissions import Actor
from knowledge.ledger.workdays import HolidayCalendar


def calendar_for(settings: Settings) -> HolidayCalendar:
    """The deployment's working-day calendar: bundled years plus the administrator's files."""
    extra = [settings.data_dir / "ledger" / "holidays.json"]
    if settings.holiday_file:
        extra.append(Path(settings.holiday_file))
    return HolidayCalendar.load(*extra)


class ServiceBase:
    """Configuration and the transaction/audit helpers every ledger operation uses."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        clock: Clock | None = None,
        suggester: BasisSuggester | None = None,
        prefix: str = numbering.DEFAULT_PREFIX,
        calendar: HolidayCalendar | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock or Clock(settings.timezone)
        self.suggester = suggester
        self.prefix = prefix
        self.calendar = calendar or calendar_for(settings)

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _tx(self) -> Iterator[Session]:
        try:
            with transaction(self.sessions) as s:
                yield s
        except StaleDataError:
            raise ConcurrentChange("该隐患刚刚已被他人处理（例如已销号或已修改），本次操作未生效，请刷新后查看。") from None

    def today(self) -> date:
        return self.clock.today()

    def _audit(self, s: Session, actor: Actor, action: str, otype: str, oid: Any, detail: dict | None) -> None:
        audit.record(s, actor.label, action, otype, oid, _jsonable(detail))


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value).strip()


def _actor(off: Official) -> Actor:
    return Actor(name=off.name, role=off.role, official_id=off.id, unit_id=off.unit_id,
                 unit_path=off.unit.path, unit_name=off.unit.name)


def _path_names(unit: Unit, names: dict[int, str]) -> list[str]:
    return [names.get(int(p), "?") for p in unit.path.strip("/").split("/") if p]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value

