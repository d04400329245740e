"""Managing group-robot channels: admins only, every change in the audit log.

Keys and secrets are encrypted before they reach the database and leave this module in clear
only as a ``RobotTarget`` handed to the delivering channel. A robot receives its unit's digest
through a ``ChatLink`` (kind, robot name) created with it, and a robot refused for good is an
``Undeliverable`` destination — the reminder domain's own tables, so the planner, the admin
summary and ``reminders log`` treat robots like any other destination.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.db import transaction
from knowledge.group_robots.models import RobotChannel, RobotKind
from knowledge.group_robots.secret_box import SecretBox, mask
from knowledge.group_robots.webhooks import parse_webhook
from knowledge.ledger import Actor, LedgerError, LedgerService, NotFound
from knowledge.ledger.models import Unit
from knowledge.ledger.permissions import require_admin
from knowledge.reminders.models import ChatLink, Undeliverable
from knowledge.reminders.service import ReminderService
from knowledge.textnorm import normalize

KIND_NAMES = {"wecom": RobotKind.WECOM, "企业微信": RobotKind.WECOM, "企微": RobotKind.WECOM,
              "dingtalk": RobotKind.DINGTALK, "钉钉": RobotKind.DINGTALK,
              "feishu": RobotKind.FEISHU, "飞书": RobotKind.FEISHU, "lark": RobotKind.FEISHU}
ROBOT_KINDS = tuple(k.value for k in RobotKind)
BROKEN_REASON = "群机器人失效"


@dataclass(frozen=True)
class RobotChannelView:
    """What may be shown anywhere: the key and the secret only masked."""

    id: int
    name: str
    kind: str
    kind_label: str
    unit_id: int | None
    unit_name: str | None      # None: not linked to a unit (unlinked by hand)
    webhook: str               # masked
    secret: str | None         # masked, or None when the robot does not sign
    broken: bool
    broken_reason: str | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class RobotTarget:
    """A robot's clear-text address for the channel that delivers to it. Never print it."""

    name: str
    kind: RobotKind
    url: str
    secret: str | None
    broken: bool

    def __repr__(self) -> str:  # keeps keys out of tracebacks and debug logs
        return f"RobotTarget(name={self.name!r}, kind={self.kind.value!r}, broken={self.broken})"


def parse_kind(text: str) -> RobotKind:
    kind = KIND_NAMES.get((text or "").strip().lower())
    if kind is None:
        raise LedgerError("机器人类型应为 wecom（企业微信）、dingtalk（钉钉）或 feishu（飞书）。")
    return kind


class RobotChannelService:
    def __init__(self, ledger: LedgerService, reminders: ReminderService | None = None) -> None:
        self.ledger = ledger
        self.reminders = reminders or ReminderService(ledger)
        self.sessions = ledger.sessions
        self._box: SecretBox | None = None

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox.from_settings(self.ledger.settings)
        return self._box

    # ------------------------------------------------------------------ admin operations
    def add(self, actor: Actor, unit: str | int, kind: str, webhook: str, secret: str | None = None,
            name: str | None = None) -> RobotChannelView:
        require_admin(actor, "配置群机器人")
        robot_kind = parse_kind(kind)
        parsed = parse_webhook(robot_kind, webhook)
        secret = (secret or "").strip() or None
        if secret and robot_kind is RobotKind.WECOM:
            raise LedgerError("企业微信群机器人没有加签密钥，请去掉 --secret。")
        if secret and (len(secret) > 200 or any(c.isspace() for c in secret)):
            raise LedgerError("加签密钥格式不对：应为机器人安全设置中显示的一串字符，不含空格。")
        digest = hashlib.sha256(parsed.url.encode()).hexdigest()
        try:
            with transaction(self.sessions) as s:
                target_unit = self.ledger.resolve_unit(s, unit)
                label = normalize(name or "") or self._default_name(s, target_unit.name, robot_kind)
                if len(label) > 100:
                    raise LedgerError("名称太长（最多 100 个字）。")
                if s.execute(select(RobotChannel.id).where(RobotChannel.name == label)).first():
                    raise LedgerError(f"已有名为“{label}”的群机器人，请换一个名称（--name）。")
                if s.execute(select(RobotChannel.name).where(RobotChannel.webhook_digest == digest)).first():
                    raise LedgerError("这个机器人地址已经登记过了。")
                row = RobotChannel(
                    kind=robot_kind.value, name=label,
                    webhook_encrypted=self.box.encrypt(parsed.url), webhook_masked=parsed.masked,
                    webhook_digest=digest,
                    secret_encrypted=self.box.encrypt(secret) if secret else None,
                    secret_masked=mask(secret) if secret else None, created_by=actor.label,
                )
                s.add(row)
                # A robot left over from an earlier one of the same name must not inherit its marks.
                s.execute(delete(ChatLink).where(ChatLink.kind == row.kind, ChatLink.address == label))
                s.execute(delete(Undeliverable).where(Undeliverable.kind == row.kind, Undeliverable.address == label))
                s.add(ChatLink(unit_id=target_unit.id, kind=row.kind, address=label, linked_by=actor.label))
                s.flush()
                audit.record(s, actor.label, "channel.add", "robot_channel", row.id,
                             {"name": label, "kind": robot_kind.value, "unit": target_unit.name,
                              "webhook": parsed.masked, "signed": bool(secret)})
                return self._views(s, [row])[0]
        except IntegrityError:
            raise LedgerError("该名称或机器人地址刚被他人登记，请刷新后再试。") from None

    def list(self, actor: Actor, unit: str | int | None = None) -> list[RobotChannelView]:
        require_admin(actor, "查看群机器人")
        with self.sessions() as s:
            rows = list(s.execute(select(RobotChannel).order_by(RobotChannel.name)).scalars())
            views = self._views(s, rows)
            if unit not in (None, ""):
                unit_id = self.ledger.resolve_unit(s, unit).id
                views = [v for v in views if v.unit_id == unit_id]
            return sorted(views, key=lambda v: (v.unit_name or "", v.name))

    def get(self, actor: Actor, name: str) -> RobotChannelView:
        require_admin(actor, "查看群机器人")
        with self.sessions() as s:
            return self._views(s, [self._get(s, name)])[0]

    def remove(self, actor: Actor, name: str) -> RobotChannelView:
        require_admin(actor, "删除群机器人")
        with transaction(self.sessions) as s:
            row = self._get(s, name)
            view = self._views(s, [row])[0]
            s.execute(delete(ChatLink).where(ChatLink.kind == row.kind, ChatLink.address == row.name))
            s.execute(delete(Undeliverable).where(Undeliverable.kind == row.kind, Undeliverable.address == row.name))
            s.delete(row)
            audit.record(s, actor.label, "channel.remove", "robot_channel", view.id,
                         {"name": view.name, "kind": view.kind, "unit": view.unit_name, "webhook": view.webhook})
            return view

    # ------------------------------------------------------------------ used by delivery
    def target(self, name: str) -> RobotTarget:
        with self.sessions() as s:
            row = self._get(s, name)
            broken = s.execute(select(Undeliverable.id).where(
                Undeliverable.kind == row.kind, Undeliverable.address == row.name)).first() is not None
            return RobotTarget(
                name=row.name, kind=RobotKind(row.kind), url=self.box.decrypt(row.webhook_encrypted),
                secret=self.box.decrypt(row.secret_encrypted) if row.secret_encrypted else None, broken=broken,
            )

    def mark_broken(self, name: str, reason: str) -> None:
        """The platform refused the robot for good (bad key, removed robot, bad signature): the
        planner stops addressing it and the admins' summary lists it until an admin repairs it."""
        with self.sessions() as s:
            kind = s.execute(select(RobotChannel.kind).where(RobotChannel.name == name)).scalar_one_or_none()
        if kind is not None:
            self.reminders.mark_undeliverable(kind, name, reason[:200])

    def mark_working(self, actor: Actor, name: str) -> bool:
        """A test message arrived: the robot is used again. Returns whether it had been broken."""
        with transaction(self.sessions) as s:
            row = self._get(s, name)
            mark = s.execute(select(Undeliverable).where(
                Undeliverable.kind == row.kind, Undeliverable.address == row.name)).scalar_one_or_none()
            if mark is None:
                return False
            s.delete(mark)
            audit.record(s, actor.label, "channel.repaired", "robot_channel", row.id,
                         {"name": row.name, "was": mark.reason})
            return True

    # ------------------------------------------------------------------ helpers
    def _get(self, s: Session, name: str) -> RobotChannel:
        label = normalize(name or "")
        row = s.execute(select(RobotChannel).where(RobotChannel.name == label)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"未找到名为“{name}”的群机器人，可用 safetybot channels list 查看。")
        return row

    @staticmethod
    def _default_name(s: Session, unit_name: str, kind: RobotKind) -> str:
        base = f"{unit_name}{kind.label}群"
        taken = set(s.execute(select(RobotChannel.name).where(RobotChannel.name.like(f"{base}%"))).scalars())
        if base not in taken:
            return base
        n = 2
        while f"{base}{n}" in taken:
            n += 1
        return f"{base}{n}"

    @staticmethod
    def _views(s: Session, rows: list[RobotChannel]) -> list[RobotChannelView]:
        links = {(k, a): (uid, name) for k, a, uid, name in s.execute(
            select(ChatLink.kind, ChatLink.address, Unit.id, Unit.name).join(Unit, Unit.id == ChatLink.unit_id)
            .where(ChatLink.kind.in_(ROBOT_KINDS)))}
        marks = {(k, a): r for k, a, r in s.execute(
            select(Undeliverable.kind, Undeliverable.address, Undeliverable.reason)
            .where(Undeliverable.kind.in_(ROBOT_KINDS)))}
        views = []
        for row in rows:
            kind = RobotKind(row.kind)
            unit_id, unit_name = links.get((row.kind, row.name), (None, None))
            reason = marks.get((row.kind, row.name))
            views.append(RobotChannelView(
                id=row.id, name=row.name, kind=kind.value, kind_label=kind.label, unit_id=unit_id,
                unit_name=unit_name, webhook=row.webhook_masked, secret=row.secret_masked,
                broken=reason is not None, broken_reason=reason, created_by=row.created_by,
                created_at=row.created_at))
        return views
