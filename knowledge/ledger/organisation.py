"""Organisation operations: units (with their hierarchy), officials, chat-account binding."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from knowledge import audit
from knowledge.ledger import importer
from knowledge.ledger.base import ServiceBase, _actor, _path_names
from knowledge.ledger.errors import LedgerError, NotFound, PermissionDenied
from knowledge.ledger.models import Official, Role, Unit, UnitKind
from knowledge.ledger.permissions import Actor, require_admin
from knowledge.ledger.views import OfficialView, UnitView
from knowledge.textnorm import normalize

BIND_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud
ROLE_NAMES = {"admin": Role.ADMIN, "管理员": Role.ADMIN, "安委办": Role.ADMIN,
              "supervisor": Role.SUPERVISOR, "督办": Role.SUPERVISOR, "督办单位": Role.SUPERVISOR,
              "official": Role.OFFICIAL, "责任人": Role.OFFICIAL, "viewer": Role.VIEWER, "只读": Role.VIEWER}


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


class OrganisationService(ServiceBase):
    """Units, officials and chat-account binding."""

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
                    # Each row is fully validated before it is added, so a refused row leaves nothing behind.
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

    def unlink_chat(self, actor: Actor, ref: str | int) -> OfficialView:
        """Remove an official's chat-account link (lost phone, person left)."""
        require_admin(actor, "解除聊天账号绑定")
        with self._tx() as s:
            off = self.resolve_official(s, ref)
            if off.chat_user_id is None and off.bind_code_hash is None:
                raise LedgerError(f"人员“{off.name}”没有绑定聊天账号。")
            self._audit(s, actor, "official.unbind", "official", off.id, {"chat_user_id": off.chat_user_id})
            off.chat_user_id, off.bind_code_hash, off.bind_code_expires_at = None, None, None
            return self._official_view(off)
