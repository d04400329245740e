"""Shared set-up for the ledger tests: a small organisation and a service with a fixed clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from knowledge.config import Settings
from knowledge.ledger import Actor, FixedClock, HazardInput, LedgerService

SHANGHAI = ZoneInfo("Asia/Shanghai")


def clock_on(day: date, hour: int = 10) -> FixedClock:
    """A clock at ``hour`` o'clock Shanghai time on ``day``."""
    return FixedClock(at=datetime.combine(day, time(hour), SHANGHAI).astimezone(UTC))


@dataclass
class Org:
    svc: LedgerService
    admin: Actor
    zhang: Actor   # official, 东街道 (under 甲区)
    zhao: Actor    # official, 西街道 (under 乙区)
    li: Actor      # supervisor, 甲区/应急管理局
    qian: Actor    # supervisor, 乙区
    sun: Actor     # viewer, 示例市

    def at(self, day: date) -> LedgerService:
        """The same ledger seen on another day."""
        return LedgerService(self.svc.sessions, self.svc.settings, clock=clock_on(day),
                             calendar=self.svc.calendar)

    def item(self, actor: Actor | None = None, **kw: object) -> str:
        data = dict(description="二楼仓库安全出口被货物堵塞", unit="东街道", deadline="10个工作日",
                    responsible_official="张三", supervising_unit="甲区/应急管理局")
        data.update(kw)
        return self.svc.create_hazard(actor or self.admin, HazardInput(**data)).item.number  # type: ignore[arg-type]


def build_org(sessions: sessionmaker[Session], settings: Settings, today: date = date(2026, 3, 2)) -> Org:
    svc = LedgerService(sessions, settings, clock=clock_on(today))
    admin = Actor.local_admin("cli:test")
    svc.add_unit(admin, "示例市", "市", code="SLS")
    svc.add_unit(admin, "甲区", "县区", parent="示例市")
    svc.add_unit(admin, "乙区", "县区", parent="示例市")
    svc.add_unit(admin, "东街道", "乡镇街道", parent="甲区")
    svc.add_unit(admin, "应急管理局", "部门", parent="甲区")
    svc.add_unit(admin, "应急管理局", "部门", parent="乙区")
    svc.add_unit(admin, "西街道", "乡镇街道", parent="乙区")
    svc.add_unit(admin, "某化工公司", "企业", parent="东街道")
    svc.add_official(admin, "张三", "东街道", "official")
    svc.add_official(admin, "赵六", "西街道", "official")
    svc.add_official(admin, "李四", "甲区/应急管理局", "supervisor")
    svc.add_official(admin, "钱七", "乙区", "supervisor")
    svc.add_official(admin, "孙八", "示例市", "viewer")
    return Org(svc, admin, *(svc.actor_for(n) for n in ("张三", "赵六", "李四", "钱七", "孙八")))
