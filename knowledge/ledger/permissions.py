"""Who may do what with a hazard item. Every check raises PermissionDenied with the reason.

- admin (安委办): everything;
- supervisor: creates items it supervises, assigns, decides extensions, does 复查/销号/reopen,
  for items whose supervising unit (督办单位) is its own unit or one of its sub-units;
- official: progress updates, extension and 复查 requests on items assigned to them or their unit;
  may record items found in self-inspection (自查) for its own unit;
- viewer: read only.
"""
from __future__ import annotations

from dataclasses import dataclass

from knowledge.ledger.errors import PermissionDenied
from knowledge.ledger.models import Hazard, Role, Unit


@dataclass(frozen=True)
class Actor:
    """The person acting: a registered official, or the local administrator of the CLI."""

    name: str
    role: str
    official_id: int | None = None
    unit_id: int | None = None
    unit_path: str | None = None
    unit_name: str | None = None

    @classmethod
    def local_admin(cls, name: str) -> Actor:
        return cls(name=name, role=Role.ADMIN)

    @property
    def label(self) -> str:
        """How the actor appears in the audit log and history."""
        if self.official_id is None:
            return self.name
        return f"official:{self.official_id} {self.name}"[:100]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def within(self, unit: Unit | None) -> bool:
        """Whether ``unit`` is the actor's unit or below it."""
        return bool(unit and self.unit_path and unit.path.startswith(self.unit_path))


def _deny(reason: str) -> None:
    raise PermissionDenied(reason)


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        _deny(f"只有管理员（安委办）可以{what}。")


def require_writer(actor: Actor) -> None:
    if actor.role == Role.VIEWER:
        _deny("您的账号为只读权限，不能修改台账。")


def supervises(actor: Actor, item: Hazard) -> bool:
    if actor.is_admin:
        return True
    return actor.role == Role.SUPERVISOR and actor.within(item.supervising_unit)


def is_assignee(actor: Actor, item: Hazard) -> bool:
    if actor.official_id is None:
        return False
    return item.responsible_official_id == actor.official_id or item.responsible_unit_id == actor.unit_id


def require_supervisor(actor: Actor, item: Hazard, what: str) -> None:
    require_writer(actor)
    if supervises(actor, item):
        return
    if actor.role != Role.SUPERVISOR:
        _deny(f"{what}须由督办单位或管理员办理，您无权对隐患 {item.number} 执行此操作。")
    body = item.supervising_unit.name if item.supervising_unit else "未指定"
    _deny(f"隐患 {item.number} 的督办单位为“{body}”，不在您所在单位的督办范围内，不能{what}。")


def require_assignee(actor: Actor, item: Hazard, what: str) -> None:
    """Rectification steps: the responsible official/unit, or the supervising side on their behalf."""
    require_writer(actor)
    if is_assignee(actor, item) or supervises(actor, item):
        return
    owner = item.responsible_unit.name if item.responsible_unit else "其他单位"
    _deny(f"隐患 {item.number} 由“{owner}”负责整改，不是您或您所在单位的事项，不能{what}。")


def require_can_create(actor: Actor, responsible: Unit, supervising: Unit | None) -> None:
    require_writer(actor)
    if actor.is_admin:
        return
    if actor.role == Role.SUPERVISOR:
        if supervising is not None and actor.within(supervising):
            return
        _deny("督办单位须为您所在单位或其下属单位。")
    if actor.role == Role.OFFICIAL and actor.within(responsible):
        return
    _deny(f"您只能登记本单位的隐患，不能为“{responsible.name}”登记。")
