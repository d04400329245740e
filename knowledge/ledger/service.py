"""All ledger operations. The CLI and the chat bot call these with an ``Actor``; every write checks
permission and writes the item history and the audit log in the same transaction as the change.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, joinedload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from knowledge import audit
from knowledge.config import Settings
from knowledge.db import transaction
from knowledge.ledger import attachments as att
from knowledge.ledger import importer, numbering, queries, statemachine
from knowledge.ledger.basis import BasisSuggester, BasisSuggestion, flag_major_hazard
from knowledge.ledger.clock import Clock
from knowledge.ledger.errors import ConcurrentChange, LedgerError, NotFound, PermissionDenied
from knowledge.ledger.models import (
    Attachment,
    ExtensionRequest,
    ExtensionStatus,
    Hazard,
    HazardBasis,
    HazardEvent,
    Level,
    Official,
    Role,
    Source,
    Status,
    Unit,
    UnitKind,
)
from knowledge.ledger.permissions import (
    Actor,
    require_admin,
    require_assignee,
    require_can_create,
    require_supervisor,
    require_writer,
)
from knowledge.ledger.views import (
    AttachmentView,
    BasisView,
    CreateResult,
    EventView,
    ExtensionView,
    HazardSummary,
    HazardView,
    ImportProblem,
    ImportReport,
    OfficialView,
    StatsReport,
    UnitView,
)
from knowledge.ledger.workdays import HolidayCalendar, parse_date, parse_deadline
from knowledge.textnorm import normalize

BIND_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud
ROLE_NAMES = {"admin": Role.ADMIN, "管理员": Role.ADMIN, "安委办": Role.ADMIN,
              "supervisor": Role.SUPERVISOR, "督办": Role.SUPERVISOR, "督办单位": Role.SUPERVISOR,
              "official": Role.OFFICIAL, "责任人": Role.OFFICIAL, "viewer": Role.VIEWER, "只读": Role.VIEWER}
STATUS_ALIASES = {"未整改": Status.PENDING, "待整改": Status.PENDING, "整改中": Status.IN_PROGRESS,
                  "正在整改": Status.IN_PROGRESS, "待复查": Status.AWAITING_REVIEW, "待验收": Status.AWAITING_REVIEW,
                  "已销号": Status.CLOSED, "已整改": Status.CLOSED, "已完成": Status.CLOSED, "完成": Status.CLOSED}
YES = {"是", "y", "yes", "true", "1", "挂牌", "√"}
NO = {"否", "n", "no", "false", "0", ""}


@dataclass
class HazardInput:
    description: str
    unit: str | int
    deadline: str | date
    responsible_unit: str | int | None = None
    responsible_official: str | int | None = None
    level: str = Level.ORDINARY
    source: str = "检查"
    found_on: date | str | None = None
    location: str | None = None
    category: str | None = None
    measures: str | None = None
    funds: Decimal | str | float | None = None
    supervising_unit: str | int | None = None
    listed_supervision: bool = False


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


class LedgerService:
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
        extra = [settings.data_dir / "ledger" / "holidays.json"]
        if getattr(settings, "holiday_file", None):
            extra.append(Path(settings.holiday_file))  # type: ignore[attr-defined]
        self.calendar = calendar or HolidayCalendar.load(*extra)

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

    # ------------------------------------------------------------------ units
    def resolve_unit(self, s: Session, ref: str | int) -> Unit:
        """A unit by id ("#12" or 12), code, name, or path "某市/某区/某街道"."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.lstrip("#").isdigit() and ref.startswith("#")):
            unit = s.get(Unit, int(str(ref).lstrip("#")))
            if unit is None:
                raise NotFound(f"未找到编号为 {ref} 的单位。")
            return unit
        text = normalize(str(ref))
        if not text:
            raise LedgerError("单位名称不能为空。")
        by_code = s.execute(select(Unit).where(Unit.code == text)).scalar_one_or_none()
        if by_code:
            return by_code
        parts = [p.strip() for p in text.replace("／", "/").split("/") if p.strip()]
        candidates = s.execute(select(Unit).where(Unit.name == parts[-1])).scalars().all()
        if len(parts) > 1:
            names = dict(s.execute(select(Unit.id, Unit.name)).all()) if candidates else {}
            candidates = [u for u in candidates if _path_names(u, names)[-len(parts):] == parts]
        if not candidates:
            raise NotFound(f"未找到单位“{ref}”，请先用 safetybot units add 登记，或核对名称。")
        if len(candidates) > 1:
            names = dict(s.execute(select(Unit.id, Unit.name)).all())
            options = "；".join("/".join(_path_names(u, names)) for u in candidates[:5])
            raise LedgerError(f"单位名称“{ref}”不唯一，请写明上级，例如：{options}。")
        return candidates[0]

    def _unit_view(self, s: Session, unit: Unit, names: dict[int, str] | None = None) -> UnitView:
        names = names or dict(s.execute(select(Unit.id, Unit.name)).all())
        return UnitView(
            id=unit.id, name=unit.name, kind=unit.kind, code=unit.code, parent_id=unit.parent_id,
            parent_name=names.get(unit.parent_id) if unit.parent_id else None,
            full_name="/".join(_path_names(unit, names)), depth=unit.depth,
        )

    def add_unit(self, actor: Actor, name: str, kind: str = "其他", parent: str | int | None = None,
                 code: str | None = None) -> UnitView:
        require_admin(actor, "管理单位")
        name = normalize(name or "")
        if not name or "/" in name:
            raise LedgerError("单位名称不能为空，也不能包含“/”。")
        if kind not in UnitKind.ALL:
            raise LedgerError(f"单位类型应为：{'、'.join(UnitKind.ALL)}。")
        with self._tx() as s:
            unit = self._add_unit(s, actor, name, kind, parent, code)
            return self._unit_view(s, unit)

    def _add_unit(self, s: Session, actor: Actor, name: str, kind: str, parent: str | int | None,
                  code: str | None) -> Unit:
        parent_unit = self.resolve_unit(s, parent) if parent not in (None, "") else None
        dup = s.execute(select(Unit.id).where(
            Unit.name == name,
            Unit.parent_id == parent_unit.id if parent_unit else Unit.parent_id.is_(None),
        )).first()
        if dup:
            where = f"“{parent_unit.name}”下" if parent_unit else "顶层"
            raise LedgerError(f"{where}已有名为“{name}”的单位。")
        code = normalize(code) if code else None
        if code and s.execute(select(Unit.id).where(Unit.code == code)).first():
            raise LedgerError(f"单位编码“{code}”已被使用。")
        unit = Unit(name=name, kind=kind, code=code, parent_id=parent_unit.id if parent_unit else None,
                    depth=parent_unit.depth + 1 if parent_unit else 0)
        s.add(unit)
        s.flush()
        unit.path = f"{parent_unit.path if parent_unit else '/'}{unit.id}/"
        s.flush()
        self._audit(s, actor, "unit.add", "unit", unit.id,
                    {"name": name, "kind": kind, "parent": parent_unit.name if parent_unit else None, "code": code})
        return unit

    def list_units(self, actor: Actor, under: str | int | None = None) -> list[UnitView]:
        with self.sessions() as s:
            stmt = select(Unit).order_by(Unit.path)
            if under not in (None, ""):
                stmt = stmt.where(Unit.path.like(f"{self.resolve_unit(s, under).path}%"))
            names = dict(s.execute(select(Unit.id, Unit.name)).all())
            return [self._unit_view(s, u, names) for u in s.execute(stmt).scalars()]

    def import_units(self, actor: Actor, path: Path) -> list[UnitView]:
        """Units from a sheet (单位名称, 上级单位, 类型, 编码); parents must exist or come earlier."""
        require_admin(actor, "管理单位")
        table = importer.read_table(Path(path), importer.UNIT_HEADINGS, ("name",))
        problems: list[str] = []
        with self._tx() as s:
            created = []
            for rownum, row in table.rows:
                kind = str(row.get("kind") or "其他")
                try:
                    if kind not in UnitKind.ALL:
                        raise LedgerError(f"单位类型应为：{'、'.join(UnitKind.ALL)}。")
                    with s.begin_nested():
                        created.append(self._add_unit(s, actor, normalize(str(row["name"] or "")), kind,
                                                      row.get("parent"), row.get("code")))
                except LedgerError as exc:
                    problems.append(f"第{rownum}行：{exc.message}")
            if problems:
                raise LedgerError("单位表有问题，未导入任何单位：\n" + "\n".join(problems))
            names = dict(s.execute(select(Unit.id, Unit.name)).all())
            return [self._unit_view(s, u, names) for u in created]

    # ------------------------------------------------------------------ officials
    def resolve_official(self, s: Session, ref: str | int) -> Official:
        if isinstance(ref, int) or str(ref).lstrip("#").isdigit():
            off = s.get(Official, int(str(ref).lstrip("#")))
            if off is None:
                raise NotFound(f"未找到编号为 {ref} 的人员。")
            return off
        name = normalize(str(ref))
        matches = s.execute(select(Official).where(Official.name == name, Official.active.is_(True))).scalars().all()
        if not matches:
            raise NotFound(f"未找到人员“{ref}”，请先用 safetybot officials add 登记。")
        if len(matches) > 1:
            options = "、".join(f"#{o.id}（{o.unit.name}）" for o in matches[:5])
            raise LedgerError(f"名为“{ref}”的人员不止一位，请用编号指定：{options}。")
        return matches[0]

    def _official_view(self, o: Official) -> OfficialView:
        return OfficialView(o.id, o.name, o.unit_id, o.unit.name, o.role, o.phone, o.supervisor_id,
                            o.chat_user_id is not None, o.active)

    def add_official(self, actor: Actor, name: str, unit: str | int, role: str = Role.OFFICIAL,
                     phone: str | None = None, supervisor: str | int | None = None) -> OfficialView:
        require_admin(actor, "管理人员")
        with self._tx() as s:
            return self._official_view(self._add_official(s, actor, name, unit, role, phone, supervisor))

    def _add_official(self, s: Session, actor: Actor, name: str, unit: str | int, role: str,
                      phone: str | None, supervisor: str | int | None) -> Official:
        name = normalize(name or "")
        if not name:
            raise LedgerError("姓名不能为空。")
        role_key = ROLE_NAMES.get(str(role).strip().lower(), ROLE_NAMES.get(str(role).strip()))
        if role_key is None:
            raise LedgerError("角色应为 admin（管理员）、supervisor（督办）、official（责任人）或 viewer（只读）。")
        unit_obj = self.resolve_unit(s, unit)
        boss = self.resolve_official(s, supervisor) if supervisor not in (None, "") else None
        off = Official(name=name, unit_id=unit_obj.id, role=role_key, phone=str(phone) if phone else None,
                       supervisor_id=boss.id if boss else None)
        s.add(off)
        s.flush()
        off.unit = unit_obj
        self._audit(s, actor, "official.add", "official", off.id,
                    {"name": name, "unit": unit_obj.name, "role": role_key, "phone": off.phone})
        return off

    def update_official(self, actor: Actor, ref: str | int, *, unit: str | int | None = None,
                        role: str | None = None, phone: str | None = None, active: bool | None = None) -> OfficialView:
        require_admin(actor, "管理人员")
        with self._tx() as s:
            off = self.resolve_official(s, ref)
            changes: dict[str, Any] = {}
            if unit not in (None, ""):
                new_unit = self.resolve_unit(s, unit)
                changes["unit"] = [off.unit.name, new_unit.name]
                off.unit_id, off.unit = new_unit.id, new_unit
            if role:
                key = ROLE_NAMES.get(role.strip().lower(), ROLE_NAMES.get(role.strip()))
                if key is None:
                    raise LedgerError("角色应为 admin、supervisor、official 或 viewer。")
                changes["role"] = [off.role, key]
                off.role = key
            if phone is not None:
                changes["phone"] = [off.phone, phone or None]
                off.phone = phone or None
            if active is not None:
                changes["active"] = [off.active, active]
                off.active = active
            if not changes:
                raise LedgerError("没有需要修改的内容。")
            self._audit(s, actor, "official.update", "official", off.id, changes)
            return self._official_view(off)

    def list_officials(self, actor: Actor, unit: str | int | None = None) -> list[OfficialView]:
        with self.sessions() as s:
            stmt = select(Official).options(joinedload(Official.unit)).order_by(Official.id)
            if unit not in (None, ""):
                stmt = stmt.join(Unit, Unit.id == Official.unit_id).where(
                    Unit.path.like(f"{self.resolve_unit(s, unit).path}%"))
            return [self._official_view(o) for o in s.execute(stmt).scalars()]

    def import_officials(self, actor: Actor, path: Path) -> list[OfficialView]:
        require_admin(actor, "管理人员")
        table = importer.read_table(Path(path), importer.OFFICIAL_HEADINGS, ("name", "unit"))
        problems: list[str] = []
        with self._tx() as s:
            created = []
            for rownum, row in table.rows:
                try:
                    with s.begin_nested():
                        created.append(self._add_official(
                            s, actor, str(row.get("name") or ""), row.get("unit") or "",
                            str(row.get("role") or Role.OFFICIAL), row.get("phone"), row.get("supervisor")))
                except LedgerError as exc:
                    problems.append(f"第{rownum}行：{exc.message}")
            if problems:
                raise LedgerError("人员表有问题，未导入任何人员：\n" + "\n".join(problems))
            return [self._official_view(o) for o in created]

    def actor_for(self, ref: str | int) -> Actor:
        """The acting identity of a registered official (by id or unique name)."""
        with self.sessions() as s:
            off = self.resolve_official(s, ref)
            if not off.active:
                raise PermissionDenied(f"人员“{off.name}”已停用。")
            return _actor(off)

    def actor_for_chat(self, chat_user_id: int) -> Actor | None:
        with self.sessions() as s:
            off = s.execute(select(Official).where(Official.chat_user_id == chat_user_id)).scalar_one_or_none()
            return _actor(off) if off is not None and off.active else None

    def issue_bind_code(self, actor: Actor, ref: str | int, ttl: timedelta = timedelta(hours=24)) -> str:
        """A one-time code the official sends to the bot to link their chat account."""
        require_admin(actor, "发放绑定码")
        code = "".join(secrets.choice(BIND_CODE_ALPHABET) for _ in range(8))
        with self._tx() as s:
            off = self.resolve_official(s, ref)
            off.bind_code_hash = _hash_code(code)
            off.bind_code_expires_at = self.clock.now() + ttl
            self._audit(s, actor, "official.bind_code", "official", off.id,
                        {"expires_at": off.bind_code_expires_at.isoformat()})
        return code

    def redeem_bind_code(self, code: str, chat_user_id: int) -> OfficialView:
        with self._tx() as s:
            off = s.execute(select(Official).where(Official.bind_code_hash == _hash_code(code or ""))).scalar_one_or_none()
            if off is None:
                raise LedgerError("绑定码无效，请核对后重试，或联系管理员重新发放。")
            expires = off.bind_code_expires_at
            if expires is not None and self.clock.local(expires) < self.clock.local(self.clock.now()):
                raise LedgerError("绑定码已过期，请联系管理员重新发放。")
            other = s.execute(select(Official).where(Official.chat_user_id == chat_user_id,
                                                     Official.id != off.id)).scalar_one_or_none()
            if other is not None:
                raise LedgerError(f"该聊天账号已绑定人员“{other.name}”，如需更换请联系管理员。")
            off.chat_user_id = chat_user_id
            off.bind_code_hash = None
            off.bind_code_expires_at = None
            audit.record(s, f"chat:{chat_user_id}", "official.bind", "official", off.id, {"chat_user_id": chat_user_id})
            return self._official_view(off)

    # ------------------------------------------------------------------ hazards: create
    def suggest_basis(self, description: str) -> list[BasisSuggestion]:
        flags = [f.as_suggestion() for f in flag_major_hazard(description)]
        found = self.suggester.suggest(description) if self.suggester else []
        seen, out = set(), []
        for sug in flags + sorted(found, key=lambda x: -x.score):
            key = (sug.document, sug.article)
            if key not in seen:
                seen.add(key)
                out.append(sug)
        return out

    def _resolve_input(self, s: Session, data: HazardInput, today: date, *, importing: bool) -> dict[str, Any]:
        """Validate one item fully (raises LedgerError with the first problem)."""
        description = (data.description or "").strip()
        if len(description) < 4:
            raise LedgerError("隐患描述过短，请具体说明隐患情况。")
        if len(description) > 4000:
            raise LedgerError("隐患描述过长（超过4000字）。")
        unit = self.resolve_unit(s, data.unit)
        resp_unit = self.resolve_unit(s, data.responsible_unit) if data.responsible_unit not in (None, "") else unit
        official = None
        if data.responsible_official not in (None, ""):
            official = self.resolve_official(s, data.responsible_official)
        sup = self.resolve_unit(s, data.supervising_unit) if data.supervising_unit not in (None, "") else None
        level = (data.level or Level.ORDINARY).strip().replace("隐患", "").replace("事故", "")
        if level not in Level.ALL:
            raise LedgerError(f"隐患等级“{data.level}”无效，应为“一般”或“重大”。")
        source = (data.source or "检查").strip()
        if source not in Source.ALL:
            raise LedgerError(f"发现方式“{source}”无效，应为：{'、'.join(Source.ALL)}。")
        if data.found_on in (None, ""):
            found_on = today
        elif isinstance(data.found_on, date):
            found_on = data.found_on
        else:
            found_on = parse_date(str(data.found_on))
        if found_on > today:
            raise LedgerError(f"发现日期{found_on.isoformat()}晚于今天，请核对。")
        # Imported ledgers carry historic (possibly overdue) items: their deadlines count from
        # the date found and may lie in the past, but never before the date found.
        deadline = parse_deadline(data.deadline if data.deadline is not None else "", today, self.calendar,
                                  allow_past=importing, base=found_on if importing else today)
        if deadline < found_on:
            raise LedgerError(f"整改时限{deadline.isoformat()}早于发现日期{found_on.isoformat()}，请核对。")
        funds = None
        if data.funds not in (None, ""):
            try:
                funds = Decimal(str(data.funds).replace(",", "").replace("元", "").strip())
            except InvalidOperation:
                raise LedgerError(f"整改资金“{data.funds}”不是数字。") from None
            if funds < 0:
                raise LedgerError("整改资金不能为负数。")
        return dict(
            description=description, norm_description=normalize(description),
            location=(data.location or None), unit=unit, responsible_unit=resp_unit,
            responsible_official=official, supervising_unit=sup, level=level, source=source,
            found_on=found_on, deadline=deadline, category=data.category or None,
            measures=data.measures or None, funds=funds, listed_supervision=bool(data.listed_supervision),
        )

    def create_hazard(self, actor: Actor, data: HazardInput) -> CreateResult:
        require_writer(actor)
        with self._tx() as s:
            today = self.today()
            v = self._resolve_input(s, data, today, importing=False)
            if actor.role == Role.SUPERVISOR and v["supervising_unit"] is None and actor.unit_id:
                v["supervising_unit"] = s.get(Unit, actor.unit_id)
            require_can_create(actor, v["responsible_unit"], v["supervising_unit"])
            flags = flag_major_hazard(v["description"])
            number = numbering.allocate(s, self.prefix, today.year)[0]
            now = self.clock.now()
            item = Hazard(
                number=number, description=v["description"], norm_description=v["norm_description"],
                location=v["location"], unit_id=v["unit"].id, category=v["category"], level=v["level"],
                source=v["source"], found_on=v["found_on"], responsible_unit_id=v["responsible_unit"].id,
                responsible_official_id=v["responsible_official"].id if v["responsible_official"] else None,
                measures=v["measures"], funds=v["funds"], deadline=v["deadline"],
                supervising_unit_id=v["supervising_unit"].id if v["supervising_unit"] else None,
                listed_supervision=v["listed_supervision"], major_suspected=bool(flags), status=Status.PENDING,
                created_at=now, updated_at=now, created_by=actor.label,
            )
            s.add(item)
            s.flush()
            detail = {k: (x.name if isinstance(x, (Unit, Official)) else x) for k, x in v.items()
                      if k != "norm_description"}
            self._event(s, actor, item, "create", None, Status.PENDING, None, detail, now)
            self._audit(s, actor, "hazard.create", "hazard", number, detail)
            s.flush()
            view = self._view(s, item, today)
        suggestions = self.suggest_basis(view.description)
        layers = self.suggester.duty_layers(view.description) if self.suggester else []
        return CreateResult(view, suggestions, layers, flags)

    # ------------------------------------------------------------------ hazards: read
    def _load(self, s: Session, number: str) -> Hazard:
        key = normalize(str(number)).upper()
        item = s.execute(
            select(Hazard).where(Hazard.number == key).options(
                joinedload(Hazard.unit), joinedload(Hazard.responsible_unit),
                joinedload(Hazard.supervising_unit), joinedload(Hazard.responsible_official))
        ).scalar_one_or_none()
        if item is None:
            raise NotFound(f"未找到编号为“{number}”的隐患。")
        return item

    def get(self, actor: Actor, number: str) -> HazardView:
        with self.sessions() as s:
            return self._view(s, self._load(s, number), self.today(), full=True)

    def list_hazards(self, actor: Actor, flt: queries.HazardFilter) -> list[HazardSummary]:
        with self.sessions() as s:
            return queries.list_hazards(s, flt, self.today())

    def count_hazards(self, actor: Actor, flt: queries.HazardFilter) -> int:
        with self.sessions() as s:
            return queries.count_hazards(s, flt, self.today())

    def filter_for(self, *, unit: str | int | None = None, located_in: str | int | None = None,
                   official: str | int | None = None, supervising_unit: str | int | None = None,
                   **kwargs: Any) -> queries.HazardFilter:
        """A HazardFilter with unit/official references resolved (clear message if unknown)."""
        with self.sessions() as s:
            return queries.HazardFilter(
                unit_id=self.resolve_unit(s, unit).id if unit not in (None, "") else None,
                located_unit_id=self.resolve_unit(s, located_in).id if located_in not in (None, "") else None,
                official_id=self.resolve_official(s, official).id if official not in (None, "") else None,
                supervising_unit_id=(self.resolve_unit(s, supervising_unit).id
                                     if supervising_unit not in (None, "") else None),
                **kwargs,
            )

    def _view(self, s: Session, item: Hazard, today: date, full: bool = False) -> HazardView:
        open_ = item.status != Status.CLOSED
        view = HazardView(
            number=item.number, description=item.description, unit=item.unit.name,
            responsible_unit=item.responsible_unit.name,
            responsible_official=item.responsible_official.name if item.responsible_official else None,
            level=item.level, status=item.status, found_on=item.found_on, deadline=item.deadline,
            overdue=open_ and item.deadline < today, days_left=(item.deadline - today).days if open_ else None,
            supervising_unit=item.supervising_unit.name if item.supervising_unit else None,
            listed_supervision=item.listed_supervision, closed_on=item.closed_on, version=item.version,
            location=item.location, category=item.category, source=item.source, measures=item.measures,
            funds=item.funds, major_suspected=item.major_suspected, created_by=item.created_by,
        )
        if full:
            hid = item.id
            view.history = [EventView(self.clock.local(e.at), e.actor, e.action, e.from_status, e.to_status, e.note, e.changes)
                            for e in s.execute(select(HazardEvent).where(HazardEvent.hazard_id == hid)
                                               .order_by(HazardEvent.id)).scalars()]
            view.extensions = [ExtensionView(x.id, self.clock.local(x.requested_at), x.requested_by, x.reason, x.old_deadline,
                                             x.new_deadline, x.status, x.decided_by, x.decision_note)
                               for x in s.execute(select(ExtensionRequest).where(ExtensionRequest.hazard_id == hid)
                                                  .order_by(ExtensionRequest.id)).scalars()]
            view.attachments = [AttachmentView(a.id, a.filename, a.stored_path, a.sha256, a.size, a.mime,
                                               a.uploaded_by)
                                for a in s.execute(select(Attachment).where(Attachment.hazard_id == hid)
                                                   .order_by(Attachment.id)).scalars()]
            view.basis = [BasisView(b.kind, b.document, b.article, b.excerpt, b.attached_by)
                          for b in s.execute(select(HazardBasis).where(HazardBasis.hazard_id == hid)
                                             .order_by(HazardBasis.id)).scalars()]
        return view

    # ------------------------------------------------------------------ hazards: changes
    def _event(self, s: Session, actor: Actor, item: Hazard, action: str, before: str | None, after: str | None,
               note: str | None, changes: dict | None, now: datetime) -> HazardEvent:
        ev = HazardEvent(hazard_id=item.id, at=now, actor=actor.label, action=action, from_status=before,
                         to_status=after, note=note, changes=_jsonable(changes))
        s.add(ev)
        return ev

    @contextmanager
    def _change(self, actor: Actor, number: str, expected_version: int | None) -> Iterator[tuple[Session, Hazard]]:
        with self._tx() as s:
            item = self._load(s, number)
            if expected_version is not None and item.version != expected_version:
                raise ConcurrentChange(
                    f"隐患 {item.number} 在您查看之后已被他人更新（当前状态：{item.status}），请刷新后重试。")
            yield s, item

    def _step(self, s: Session, actor: Actor, item: Hazard, action: str, note: str | None,
              changes: dict | None = None) -> HazardEvent:
        before = item.status
        after = statemachine.check(action, before, item.number)
        # The clock is read only after the item was loaded: a concurrent writer that loaded the
        # same version is caught by the version check when this change is flushed.
        now = self.clock.now()
        item.status = after
        item.updated_at = now
        ev = self._event(s, actor, item, action, before, after, note, changes, now)
        self._audit(s, actor, f"hazard.{action}", "hazard", item.number,
                    {"from": before, "to": after, "note": note, **(changes or {})})
        s.flush()
        return ev

    def _require_note(self, note: str | None, what: str) -> str:
        note = (note or "").strip()
        if not note:
            raise LedgerError(f"请填写{what}。")
        return note

    def update_progress(self, actor: Actor, number: str, note: str, files: Sequence[Path] = (),
                        expected_version: int | None = None) -> HazardView:
        note = self._require_note(note, "整改进展")
        checked = [att.check(Path(f), self.settings.max_upload_bytes) for f in files]  # validate before writing
        del checked
        with self._change(actor, number, expected_version) as (s, item):
            require_assignee(actor, item, "报送整改进展")
            ev = self._step(s, actor, item, "progress", note)
            self._store_files(s, actor, item, files, ev)
            return self._view(s, item, self.today())

    def attach(self, actor: Actor, number: str, files: Sequence[Path]) -> HazardView:
        for f in files:
            att.check(Path(f), self.settings.max_upload_bytes)
        if not files:
            raise LedgerError("请选择要上传的附件。")
        with self._change(actor, number, None) as (s, item):
            require_assignee(actor, item, "上传附件")
            ev = self._step(s, actor, item, "attach", None, {"files": [Path(f).name for f in files]})
            self._store_files(s, actor, item, files, ev)
            return self._view(s, item, self.today())

    def _store_files(self, s: Session, actor: Actor, item: Hazard, files: Sequence[Path], ev: HazardEvent) -> None:
        for f in files:
            stored = att.store(Path(f), self.settings.files_dir, self.settings.max_upload_bytes)
            exists = s.execute(select(Attachment.id).where(Attachment.hazard_id == item.id,
                                                           Attachment.sha256 == stored.sha256)).first()
            if exists:
                continue
            s.add(Attachment(hazard_id=item.id, event_id=ev.id, filename=stored.filename,
                             stored_path=stored.stored_path, sha256=stored.sha256, size=stored.size,
                             mime=stored.mime, uploaded_by=actor.label))
            self._audit(s, actor, "hazard.attachment", "hazard", item.number,
                        {"file": stored.filename, "sha256": stored.sha256, "size": stored.size})

    def request_review(self, actor: Actor, number: str, note: str,
                       expected_version: int | None = None) -> HazardView:
        note = self._require_note(note, "整改完成情况")
        with self._change(actor, number, expected_version) as (s, item):
            require_assignee(actor, item, "申请复查")
            self._step(s, actor, item, "request_review", note)
            return self._view(s, item, self.today())

    def review(self, actor: Actor, number: str, passed: bool, note: str,
               expected_version: int | None = None) -> HazardView:
        """复查: passed → 已销号; failed → back to 整改中 with the finding."""
        note = self._require_note(note, "复查意见" if passed else "复查发现的问题")
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "复查销号" if passed else "复查")
            if item.status == Status.AWAITING_REVIEW and passed:
                pending = self._pending_extension(s, item)
                if pending is not None:
                    pending.status = ExtensionStatus.REFUSED
                    pending.decision_note = "已销号，延期申请自动关闭"
            self._step(s, actor, item, "review_pass" if passed else "review_fail", note)
            if passed:
                now = self.clock.now()
                item.closed_at = now
                item.closed_on = self.clock.local(now).date()
            s.flush()
            return self._view(s, item, self.today())

    def close(self, actor: Actor, number: str, note: str, expected_version: int | None = None) -> HazardView:
        """销号 after a passed 复查 (same as ``review(passed=True)``)."""
        return self.review(actor, number, True, note, expected_version)

    def reopen(self, actor: Actor, number: str, reason: str, deadline: str | date | None = None,
               expected_version: int | None = None) -> HazardView:
        reason = self._require_note(reason, "重新打开的原因")
        today = self.today()
        new_deadline = parse_deadline(deadline, today, self.calendar) if deadline not in (None, "") else None
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "重新打开")
            changes: dict[str, Any] = {"closed_on": [item.closed_on, None]}
            if new_deadline is not None:
                changes["deadline"] = [item.deadline, new_deadline]
                item.deadline = new_deadline
            item.closed_at, item.closed_on = None, None
            self._step(s, actor, item, "reopen", reason, changes)
            return self._view(s, item, today)

    def _pending_extension(self, s: Session, item: Hazard) -> ExtensionRequest | None:
        return s.execute(select(ExtensionRequest).where(
            ExtensionRequest.hazard_id == item.id, ExtensionRequest.status == ExtensionStatus.PENDING)
        ).scalar_one_or_none()

    def request_extension(self, actor: Actor, number: str, new_deadline: str | date, reason: str,
                          expected_version: int | None = None) -> ExtensionView:
        reason = self._require_note(reason, "延期理由")
        with self._change(actor, number, expected_version) as (s, item):
            require_assignee(actor, item, "申请延期")
            statemachine.check("request_extension", item.status, item.number)
            if self._pending_extension(s, item) is not None:
                raise LedgerError(f"隐患 {item.number} 已有一项延期申请待审批，请等待审批结果。")
            today = self.today()
            # "N个工作日" in an extension request means N more days after the current deadline.
            target = parse_deadline(new_deadline, today, self.calendar, base=max(today, item.deadline))
            if target <= item.deadline:
                raise LedgerError(f"申请的新时限{target.isoformat()}不晚于现时限{item.deadline.isoformat()}。")
            if target < today:
                raise LedgerError("申请的新时限早于今天。")
            req = ExtensionRequest(hazard_id=item.id, requested_by=actor.label, reason=reason,
                                   old_deadline=item.deadline, new_deadline=target, requested_at=self.clock.now())
            s.add(req)
            self._step(s, actor, item, "request_extension", reason,
                       {"deadline": [item.deadline, target]})
            s.flush()
            return ExtensionView(req.id, req.requested_at, req.requested_by, req.reason, req.old_deadline,
                                 req.new_deadline, req.status, None, None)

    def decide_extension(self, actor: Actor, number: str, approve: bool, note: str | None = None,
                         expected_version: int | None = None) -> HazardView:
        if not approve:
            note = self._require_note(note, "驳回理由")
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "审批延期")
            req = self._pending_extension(s, item)
            if req is None:
                raise LedgerError(f"隐患 {item.number} 没有待审批的延期申请。")
            req.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
            req.decided_by, req.decided_at, req.decision_note = actor.label, self.clock.now(), note
            changes: dict[str, Any] = {"extension_id": req.id, "approved": approve}
            if approve:
                changes["deadline"] = [item.deadline, req.new_deadline]
                item.deadline = req.new_deadline
            self._step(s, actor, item, "decide_extension", note or ("同意延期" if approve else None), changes)
            return self._view(s, item, self.today())

    def assign(self, actor: Actor, number: str, *, responsible_unit: str | int | None = None,
               responsible_official: str | int | None = None, supervising_unit: str | int | None = None,
               listed_supervision: bool | None = None, note: str | None = None,
               expected_version: int | None = None) -> HazardView:
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "交办或变更责任")
            changes: dict[str, Any] = {}
            if responsible_unit not in (None, ""):
                unit = self.resolve_unit(s, responsible_unit)
                changes["responsible_unit"] = [item.responsible_unit.name, unit.name]
                item.responsible_unit_id, item.responsible_unit = unit.id, unit
            if responsible_official not in (None, ""):
                off = self.resolve_official(s, responsible_official)
                old = item.responsible_official.name if item.responsible_official else None
                changes["responsible_official"] = [old, off.name]
                item.responsible_official_id, item.responsible_official = off.id, off
            if supervising_unit not in (None, ""):
                sup = self.resolve_unit(s, supervising_unit)
                if not actor.is_admin and not actor.within(sup):
                    raise PermissionDenied("只能将督办单位改为您所在单位或其下属单位。")
                old = item.supervising_unit.name if item.supervising_unit else None
                changes["supervising_unit"] = [old, sup.name]
                item.supervising_unit_id, item.supervising_unit = sup.id, sup
            if listed_supervision is not None and listed_supervision != item.listed_supervision:
                changes["listed_supervision"] = [item.listed_supervision, listed_supervision]
                item.listed_supervision = listed_supervision
            if not changes:
                raise LedgerError("没有需要变更的内容。")
            self._step(s, actor, item, "assign", note, changes)
            return self._view(s, item, self.today())

    def edit(self, actor: Actor, number: str, *, description: str | None = None, location: str | None = None,
             level: str | None = None, category: str | None = None, measures: str | None = None,
             funds: str | None = None, note: str | None = None, expected_version: int | None = None) -> HazardView:
        with self._change(actor, number, expected_version) as (s, item):
            require_supervisor(actor, item, "修改隐患信息")
            changes: dict[str, Any] = {}
            if description is not None:
                if len(description.strip()) < 4:
                    raise LedgerError("隐患描述过短，请具体说明隐患情况。")
                changes["description"] = [item.description, description.strip()]
                item.description, item.norm_description = description.strip(), normalize(description)
            if level is not None:
                if level not in Level.ALL:
                    raise LedgerError("隐患等级应为“一般”或“重大”。")
                changes["level"] = [item.level, level]
                item.level = level
            for name, value in (("location", location), ("category", category), ("measures", measures)):
                if value is not None:
                    changes[name] = [getattr(item, name), value or None]
                    setattr(item, name, value or None)
            if funds is not None:
                try:
                    amount = Decimal(str(funds)) if funds != "" else None
                except InvalidOperation:
                    raise LedgerError(f"整改资金“{funds}”不是数字。") from None
                changes["funds"] = [item.funds, amount]
                item.funds = amount
            if not changes:
                raise LedgerError("没有需要修改的内容。")
            self._step(s, actor, item, "edit", note, changes)
            return self._view(s, item, self.today())

    def attach_basis(self, actor: Actor, number: str, suggestion: BasisSuggestion) -> HazardView:
        """Attach a legal basis the user confirmed (a suggestion or one typed in)."""
        if not (suggestion.document or "").strip():
            raise LedgerError("请填写依据的文件名称。")
        with self._change(actor, number, None) as (s, item):
            require_assignee(actor, item, "添加法律依据")
            if s.execute(select(HazardBasis.id).where(
                    HazardBasis.hazard_id == item.id, HazardBasis.document == suggestion.document,
                    HazardBasis.article == suggestion.article if suggestion.article else HazardBasis.article.is_(None),
            )).first():
                raise LedgerError("该依据已添加过。")
            s.add(HazardBasis(hazard_id=item.id, kind=suggestion.kind, document=suggestion.document,
                              article=suggestion.article, excerpt=suggestion.excerpt, attached_by=actor.label))
            now = self.clock.now()
            item.updated_at = now
            detail = {"document": suggestion.document, "article": suggestion.article}
            self._event(s, actor, item, "basis", item.status, item.status, None, detail, now)
            self._audit(s, actor, "hazard.basis", "hazard", item.number, detail)
            s.flush()
            return self._view(s, item, self.today(), full=True)

    # ------------------------------------------------------------------ statistics
    def stats(self, actor: Actor, unit: str | int | None, start: date, end: date) -> StatsReport:
        with self.sessions() as s:
            root = self.resolve_unit(s, unit).id if unit not in (None, "") else None
            return queries.stats(s, root, start, end, self.today())

    def period(self, spec: str | None) -> tuple[date, date]:
        """"month" (this month), "last-month", "year", "all", "2026-03", "2026", or "2026-01-01..2026-03-31"."""
        today = self.today()
        spec = (spec or "month").strip()
        if spec in ("month", "本月"):
            return today.replace(day=1), today
        if spec in ("last-month", "上月"):
            end = today.replace(day=1) - timedelta(days=1)
            return end.replace(day=1), end
        if spec in ("year", "本年"):
            return today.replace(month=1, day=1), today
        if spec in ("all", "全部"):
            return date(1970, 1, 1), today
        if ".." in spec:
            a, b = spec.split("..", 1)
            start, end = parse_date(a), parse_date(b)
            if end < start:
                raise LedgerError("统计期间的结束日期早于开始日期。")
            return start, end
        if len(spec) == 4 and spec.isdigit():
            return date(int(spec), 1, 1), date(int(spec), 12, 31)
        parts = spec.replace("/", "-").split("-")
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            year, month = int(parts[0]), int(parts[1])
            if not 1 <= month <= 12:
                raise LedgerError(f"统计期间“{spec}”无效：月份应在1到12之间。")
            start = date(year, month, 1)
            nxt = date(year + (month == 12), month % 12 + 1, 1)
            return start, nxt - timedelta(days=1)
        raise LedgerError(f"无法识别的统计期间“{spec}”，可用：month、last-month、year、all、2026-03、2026。")

    # ------------------------------------------------------------------ import
    def import_hazards(self, actor: Actor, path: Path, *, dry_run: bool = False) -> ImportReport:
        """Import a ledger sheet: every row is validated first; all rows are imported or none."""
        require_writer(actor)
        path = Path(path)
        table = importer.read_table(path, importer.HAZARD_HEADINGS, ("description", "unit", "deadline"))
        report = ImportReport(file=path.name, rows_read=len(table.rows))
        today = self.today()
        with self._tx() as s:
            units: dict[Any, Unit] = {}
            officials: dict[Any, Official] = {}
            unit_cache = _Cache(lambda ref: self.resolve_unit(s, ref), units)
            official_cache = _Cache(lambda ref: self.resolve_official(s, ref), officials)
            seen_numbers: dict[str, int] = {}
            seen_seq: dict[str, int] = {}
            seen_keys: dict[str, int] = {}
            pending: list[tuple[int, dict[str, Any]]] = []
            for rownum, row in table.rows:
                try:
                    pending.append((rownum, self._import_row(
                        s, actor, row, rownum, today, unit_cache, official_cache, seen_numbers, seen_seq, seen_keys)))
                except LedgerError as exc:
                    report.problems.append(ImportProblem(rownum, exc.message))
            if not table.rows:
                report.problems.append(ImportProblem(0, "表格中没有数据行。"))
            keys = [v["source_key"] for _, v in pending]
            existing: set[str] = set()
            for i in range(0, len(keys), 500):
                existing.update(k for k in s.execute(select(Hazard.source_key).where(
                    Hazard.source_key.in_(keys[i:i + 500]))).scalars() if k)
            numbers = [v["number"] for _, v in pending if v["number"]]
            taken: set[str] = set()
            for i in range(0, len(numbers), 500):
                taken.update(s.execute(select(Hazard.number).where(Hazard.number.in_(numbers[i:i + 500]))).scalars())
            to_create = []
            for rownum, v in pending:
                if v["source_key"] in existing:
                    report.skipped.append((rownum, f"已导入过（{v['number'] or '同一隐患'}），跳过"))
                elif v["number"] in taken:
                    report.problems.append(ImportProblem(rownum, f"编号{v['number']}已被台账中另一条隐患使用。"))
                else:
                    to_create.append((rownum, v))
            if report.problems or dry_run:
                s.rollback()
                return report
            self._bulk_create(s, actor, to_create, report, path.name)
        return report

    def _import_row(self, s: Session, actor: Actor, row: dict[str, Any], rownum: int, today: date,
                    unit_cache: _Cache, official_cache: _Cache, seen_numbers: dict[str, int],
                    seen_seq: dict[str, int], seen_keys: dict[str, int]) -> dict[str, Any]:
        for required, label in (("description", "隐患描述"), ("unit", "所在单位"), ("deadline", "整改时限")):
            if row.get(required) in (None, ""):
                raise LedgerError(f"“{label}”为空。")
        seq = row.get("seq")
        if seq not in (None, ""):
            key = str(seq).strip().removesuffix(".0")
            if key in seen_seq:
                raise LedgerError(f"序号{key}与第{seen_seq[key]}行重复。")
            seen_seq[key] = rownum
        number = None
        if row.get("number") not in (None, ""):
            number = normalize(str(row["number"])).upper()
            if len(number) > 40:
                raise LedgerError("隐患编号过长。")
            if number in seen_numbers:
                raise LedgerError(f"隐患编号{number}与第{seen_numbers[number]}行重复。")
            seen_numbers[number] = rownum
        data = HazardInput(
            description=str(row["description"]), unit=unit_cache.key(row["unit"]),
            deadline=importer.cell_date(row["deadline"]) or "",
            responsible_unit=unit_cache.key(row.get("responsible_unit")),
            responsible_official=official_cache.key(row.get("responsible_official")),
            level=str(row.get("level") or Level.ORDINARY), source=str(row.get("source") or "检查"),
            found_on=importer.cell_date(row.get("found_on")), location=_str(row.get("location")),
            category=_str(row.get("category")), measures=_str(row.get("measures")), funds=row.get("funds"),
            supervising_unit=unit_cache.key(row.get("supervising_unit")),
        )
        listed = str(row.get("listed") or "").strip().lower()
        if listed not in YES | NO:
            raise LedgerError(f"“挂牌督办”应填“是”或“否”，而不是“{row.get('listed')}”。")
        data.listed_supervision = listed in YES
        v = self._resolve_input_cached(s, data, today, unit_cache, official_cache)
        require_can_create(actor, v["responsible_unit"], v["supervising_unit"])
        status_raw = str(row.get("status") or Status.PENDING).strip()
        status = STATUS_ALIASES.get(status_raw)
        if status is None:
            raise LedgerError(f"整改状态“{status_raw}”无效，应为：{'、'.join(Status.ALL)}。")
        closed_on = None
        if status == Status.CLOSED:
            raw = importer.cell_date(row.get("closed_on"))
            closed_on = (raw if isinstance(raw, date) else parse_date(raw)) if raw else today
            if closed_on < v["found_on"] or closed_on > today:
                raise LedgerError(f"销号日期{closed_on.isoformat()}应在发现日期与今天之间。")
        fingerprint = number or "|".join([
            v["norm_description"], str(v["unit"].id), str(v["responsible_unit"].id), v["found_on"].isoformat()])
        source_key = hashlib.sha256(fingerprint.encode()).hexdigest()
        if source_key in seen_keys:
            raise LedgerError(f"与第{seen_keys[source_key]}行是同一条隐患（描述、单位、发现日期相同）。")
        seen_keys[source_key] = rownum
        v.update(number=number, status=status, closed_on=closed_on, source_key=source_key,
                 note=_str(row.get("note")))
        return v

    def _resolve_input_cached(self, s: Session, data: HazardInput, today: date, units: _Cache,
                              officials: _Cache) -> dict[str, Any]:
        # Resolve references once per distinct value: a 10,000-row sheet names few units.
        unit, resp = units.get(data.unit), units.get(data.responsible_unit) if data.responsible_unit else None
        sup = units.get(data.supervising_unit) if data.supervising_unit else None
        off = officials.get(data.responsible_official) if data.responsible_official else None
        data.unit = unit.id
        data.responsible_unit = resp.id if resp else None
        data.supervising_unit = sup.id if sup else None
        data.responsible_official = off.id if off else None
        return self._resolve_input(s, data, today, importing=True)

    def _bulk_create(self, s: Session, actor: Actor, rows: list[tuple[int, dict[str, Any]]],
                     report: ImportReport, filename: str) -> None:
        now = self.clock.now()
        fresh = [v for _, v in rows if not v["number"]]
        by_year: dict[int, list[dict[str, Any]]] = {}
        for v in fresh:
            by_year.setdefault(v["found_on"].year, []).append(v)
        for year, group in by_year.items():
            for v, num in zip(group, numbering.allocate(s, self.prefix, year, len(group))):
                v["number"] = num
        highest: dict[int, int] = {}
        for _, v in rows:  # numbers in our own format must not be handed out again later
            parts = v["number"].split("-")
            if len(parts) == 3 and parts[0] == self.prefix and parts[1].isdigit() and parts[2].isdigit():
                year, seq = int(parts[1]), int(parts[2])
                highest[year] = max(highest.get(year, 0), seq)
        for year, seq in highest.items():
            numbering.bump_past(s, self.prefix, year, seq)
        values = []
        for _, v in rows:
            closed = v["status"] == Status.CLOSED
            values.append(dict(
                number=v["number"], description=v["description"], norm_description=v["norm_description"],
                location=v["location"], unit_id=v["unit"].id, category=v["category"], level=v["level"],
                source=v["source"], found_on=v["found_on"], responsible_unit_id=v["responsible_unit"].id,
                responsible_official_id=v["responsible_official"].id if v["responsible_official"] else None,
                measures=v["measures"], funds=v["funds"], deadline=v["deadline"],
                supervising_unit_id=v["supervising_unit"].id if v["supervising_unit"] else None,
                listed_supervision=v["listed_supervision"], major_suspected=bool(flag_major_hazard(v["description"])),
                status=v["status"], closed_at=now if closed else None, closed_on=v["closed_on"],
                source_key=v["source_key"], created_at=now, created_by=actor.label, updated_at=now, version=1,
            ))
        for i in range(0, len(values), 1000):
            s.execute(insert(Hazard), values[i:i + 1000])
        ids: dict[str, int] = {}
        numbers = [v["number"] for _, v in rows]
        for i in range(0, len(numbers), 1000):
            ids.update(s.execute(select(Hazard.number, Hazard.id).where(Hazard.number.in_(numbers[i:i + 1000]))).all())
        events = [dict(hazard_id=ids[v["number"]], at=now, actor=actor.label, action="import", from_status=None,
                       to_status=v["status"], note=v["note"], changes={"file": filename, "row": rownum})
                  for rownum, v in rows]
        for i in range(0, len(events), 1000):
            s.execute(insert(HazardEvent), events[i:i + 1000])
        report.created = [v["number"] for _, v in rows]
        self._audit(s, actor, "hazard.import", "hazard", None,
                    {"file": filename, "created": report.created, "skipped": [r for r, _ in report.skipped]})

    # ------------------------------------------------------------------ export
    def export_rows(self, actor: Actor, flt: queries.HazardFilter) -> list[dict[str, Any]]:
        """Rows for the printable ledger (all matching items, due-date order)."""
        from knowledge.ledger.exporter import ledger_rows

        with self.sessions() as s:
            return ledger_rows(s, flt, self.today())


class _Cache:
    """Memoised reference resolution; errors are remembered too, so each bad name costs one query."""

    def __init__(self, resolve: Any, store: dict[Any, Any]) -> None:
        self.resolve, self.store = resolve, store
        self.errors: dict[Any, str] = {}

    def key(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        return str(value).strip().removesuffix(".0") if isinstance(value, float) else str(value).strip()

    def get(self, ref: Any) -> Any:
        if ref in self.errors:
            raise LedgerError(self.errors[ref])
        if ref not in self.store:
            try:
                self.store[ref] = self.resolve(ref)
            except LedgerError as exc:
                self.errors[ref] = exc.message
                raise
        return self.store[ref]


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
