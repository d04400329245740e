"""Reminder operations front ends call with an ``Actor``: group links, 已知悉, undeliverable
destinations, and the day's plan. Writes check permission and are audit-logged in the same
transaction, like ``LedgerService``, whose units, items and transactions this builds on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.ledger.errors import LedgerError, NotFound
from knowledge.ledger.models import Status, Unit
from knowledge.ledger.permissions import Actor, require_admin, require_writer
from knowledge.ledger.service import LedgerService
from knowledge.ledger.views import View
from knowledge.reminders.escalation import SYSTEM_ACTOR
from knowledge.reminders.links import CHAT_ACCOUNT_KIND
from knowledge.reminders.models import Acknowledgement, ChatLink, Undeliverable
from knowledge.reminders.planner import DayPlan, plan_day


@dataclass
class ChatLinkView(View):
    unit_id: int
    unit: str
    kind: str
    address: str
    linked_by: str
    linked_at: datetime


@dataclass
class UndeliverableView(View):
    kind: str
    address: str
    reason: str
    marked_at: datetime


class ReminderService:
    """``ReminderService(ledger)``: reminder operations on the ledger's database and calendar."""

    def __init__(self, ledger: LedgerService) -> None:
        self.ledger = ledger

    def plan(self, day: date | None = None) -> DayPlan:
        """The plan of ``day`` (default: today in the configured time zone)."""
        return plan_day(self.ledger.sessions, self.ledger.settings, day or self.ledger.today(),
                        calendar=self.ledger.calendar)

    # ------------------------------------------------------------------ group links
    def _link_view(self, link: ChatLink, unit_name: str) -> ChatLinkView:
        return ChatLinkView(link.unit_id, unit_name, link.kind, link.address, link.linked_by,
                            self.ledger.clock.local(link.linked_at))

    def link_chat(self, actor: Actor, unit_ref: str | int, kind: str, address: str | int) -> ChatLinkView:
        """Link a group (``kind`` "telegram", ``address`` the chat id) to a unit's daily digest.
        A group already linked to another unit is moved, and the move is audit-logged."""
        require_admin(actor, "关联群聊")
        kind, address = kind.strip().lower(), str(address).strip()
        if not kind or not address:
            raise LedgerError("请提供群聊的渠道和编号。")
        with self.ledger._tx() as s:
            unit = self.ledger.resolve_unit(s, unit_ref)
            link = s.execute(select(ChatLink).where(ChatLink.kind == kind, ChatLink.address == address)
                             ).scalar_one_or_none()
            if link is not None and link.unit_id == unit.id:
                raise LedgerError(f"该群已关联“{unit.name}”，无需重复关联。")
            previous = link.unit_id if link is not None else None
            if link is None:
                link = ChatLink(kind=kind, address=address)
                s.add(link)
            link.unit_id, link.linked_by, link.linked_at = unit.id, actor.label, self.ledger.clock.now()
            s.flush()
            self.ledger._audit(s, actor, "unit.link_chat", "unit", unit.id,
                               {"kind": kind, "address": address, "unit": unit.name, "moved_from_unit": previous})
            return self._link_view(link, unit.name)

    def unlink_chat(self, actor: Actor, kind: str, address: str | int) -> ChatLinkView:
        """Remove a group's link; it receives no digest from the next run on."""
        require_admin(actor, "解除群聊关联")
        kind, address = kind.strip().lower(), str(address).strip()
        with self.ledger._tx() as s:
            link = s.execute(select(ChatLink).where(ChatLink.kind == kind, ChatLink.address == address)
                             ).scalar_one_or_none()
            if link is None:
                raise NotFound("该群尚未关联任何单位。")
            unit = self.ledger.resolve_unit(s, link.unit_id)
            view = self._link_view(link, unit.name)
            s.delete(link)
            self.ledger._audit(s, actor, "unit.unlink_chat", "unit", unit.id,
                               {"kind": kind, "address": address, "unit": unit.name})
            return view

    def linked_chats(self, unit_ref: str | int | None = None) -> list[ChatLinkView]:
        """Links of one unit, or all links (by unit path) when ``unit_ref`` is None."""
        with self.ledger.sessions() as s:
            stmt = select(ChatLink, Unit.name).join(Unit, Unit.id == ChatLink.unit_id).order_by(Unit.path, ChatLink.id)
            if unit_ref not in (None, ""):
                stmt = stmt.where(ChatLink.unit_id == self.ledger.resolve_unit(s, unit_ref).id)  # type: ignore[arg-type]
            return [self._link_view(link, name) for link, name in s.execute(stmt)]

    def chat_unit(self, kind: str, address: str | int) -> ChatLinkView | None:
        """The link of one group, if any (``/unlinkgroup`` and group commands ask this)."""
        with self.ledger.sessions() as s:
            row = s.execute(select(ChatLink, Unit.name).join(Unit, Unit.id == ChatLink.unit_id).where(
                ChatLink.kind == kind.strip().lower(), ChatLink.address == str(address).strip())).first()
            return self._link_view(row[0], row[1]) if row else None

    # ------------------------------------------------------------------ 已知悉
    def acknowledge(self, actor: Actor, number: str, day: date | None = None) -> bool:
        """Record 已知悉 for an item on ``day`` (default today): a line in the item's history and
        the audit log. Pressing it again the same day records nothing more; returns whether this
        call recorded it. The item's version does not change, so the reminder's other buttons
        stay valid."""
        require_writer(actor)
        day = day or self.ledger.today()
        with self.ledger._tx() as s:
            item = self.ledger._load(s, number)
            if item.status == Status.CLOSED:
                raise LedgerError(f"隐患 {item.number} 已销号，无需确认。")
            done = s.execute(select(Acknowledgement.id).where(
                Acknowledgement.hazard_id == item.id, Acknowledgement.actor == actor.label,
                Acknowledgement.day == day)).first()
            if done:
                return False
            now = self.ledger.clock.now()
            s.add(Acknowledgement(hazard_id=item.id, actor=actor.label, official_id=actor.official_id, day=day, at=now))
            # The reminder's day goes in the note only when it is not the day of pressing (a late press).
            note = None if day == self.ledger.clock.local(now).date() else f"{day.isoformat()}的提醒"
            self.ledger._event(s, actor, item, "acknowledge", item.status, item.status, note, {"day": day}, now)
            self.ledger._audit(s, actor, "hazard.acknowledge", "hazard", item.number, {"day": day})
            return True

    # ------------------------------------------------------------------ undeliverable destinations
    def mark_undeliverable(self, kind: str, address: str | int, reason: str, session: Session | None = None) -> None:
        """The dispatcher's call when a destination failed for good (``Outcome.UNDELIVERABLE``):
        the planner stops addressing it and lists it in the admin summary with ``reason``
        (short Chinese, e.g. "已屏蔽机器人", "已退出群聊", "群机器人失效"). Pass ``session`` to write
        in the dispatcher's own transaction; otherwise a transaction of its own is used."""
        if session is None:
            with self.ledger._tx() as s:
                self._mark(s, kind, str(address), reason)
        else:
            self._mark(session, kind, str(address), reason)

    def _mark(self, s: Session, kind: str, address: str, reason: str) -> None:
        row = s.execute(select(Undeliverable).where(Undeliverable.kind == kind, Undeliverable.address == address)
                        ).scalar_one_or_none()
        if row is None:
            s.add(Undeliverable(kind=kind, address=address, reason=reason[:200], marked_at=self.ledger.clock.now()))
        elif row.reason == reason:
            return
        else:
            row.reason, row.marked_at = reason[:200], self.ledger.clock.now()
        s.flush()
        audit.record(s, SYSTEM_ACTOR, "reminder.undeliverable", "destination", f"{kind}:{address}", {"reason": reason})

    def clear_undeliverable(self, actor: Actor, kind: str, address: str | int) -> UndeliverableView:
        """An admin says the cause is fixed (unblocked, re-added to the group): deliver again."""
        require_admin(actor, "恢复提醒发送")
        with self.ledger._tx() as s:
            row = s.execute(select(Undeliverable).where(
                Undeliverable.kind == kind, Undeliverable.address == str(address))).scalar_one_or_none()
            if row is None:
                raise NotFound("该接收方没有被标记为无法送达。")
            view = UndeliverableView(row.kind, row.address, row.reason, self.ledger.clock.local(row.marked_at))
            s.delete(row)
            self.ledger._audit(s, actor, "reminder.undeliverable_cleared", "destination", f"{kind}:{address}",
                               {"reason": row.reason})
            return view

    def undeliverable(self) -> list[UndeliverableView]:
        with self.ledger.sessions() as s:
            rows = s.execute(select(Undeliverable).order_by(Undeliverable.marked_at, Undeliverable.id)).scalars()
            return [UndeliverableView(r.kind, r.address, r.reason, self.ledger.clock.local(r.marked_at)) for r in rows]

    def mark_official_undeliverable(self, official_chat_user_id: int, reason: str,
                                    session: Session | None = None) -> None:
        """Shorthand for an official's private chat (``Official.chat_user_id``)."""
        self.mark_undeliverable(CHAT_ACCOUNT_KIND, str(official_chat_user_id), reason, session)
