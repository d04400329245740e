"""Personal reminders and escalations in the unit's group robots.

The planner already sends each unit's digest to every destination linked to the unit, robots
included (a robot is a ``ChatLink`` of its kind). What it does not do is post officials' own
reminders in groups; this adds, per unit with working robots and per kind (daily, escalation),
one group reminder combining the day's reminders of the unit's officials. The outbox keys a
delivery by (channel, address, day, kind), so each robot gets at most one such message of each
kind a day. Whether it names and @-mentions the officials or only counts their items is the
channel's rendering choice (``SAFETYBOT_REMINDER_MENTION``). Admin summaries never go to robots.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.group_robots.service import ROBOT_KINDS
from knowledge.reminders.links import undeliverable_reasons
from knowledge.reminders.messages import Destination, Recipient, RecipientKind, Reminder, ReminderItem, ReminderKind
from knowledge.reminders.models import ChatLink
from knowledge.reminders.planner import DayPlan, urgency_order

GROUP_KINDS = (ReminderKind.DAILY, ReminderKind.ESCALATION)


def robot_destinations(session: Session) -> dict[int, tuple[Destination, ...]]:
    """Working robots of every unit: ``{unit_id: (Destination(kind, robot name), …)}``."""
    broken = undeliverable_reasons(session)
    out: dict[int, list[Destination]] = {}
    for unit_id, kind, address in session.execute(
            select(ChatLink.unit_id, ChatLink.kind, ChatLink.address)
            .where(ChatLink.kind.in_(ROBOT_KINDS)).order_by(ChatLink.unit_id, ChatLink.id)):
        dest = Destination(kind, address)
        if dest not in broken:
            out.setdefault(unit_id, []).append(dest)
    return {uid: tuple(dests) for uid, dests in out.items()}


def with_group_reminders(plan: DayPlan, robots: Mapping[int, tuple[Destination, ...]],
                         unit_names: Mapping[int, str]) -> DayPlan:
    """``plan`` plus one combined group reminder per (unit with robots, kind)."""
    groups: dict[tuple[int, ReminderKind], list[Reminder]] = {}
    for reminder in plan.reminders:
        who = reminder.recipient
        if reminder.kind in GROUP_KINDS and who.kind is RecipientKind.OFFICIAL and who.unit_id in robots:
            groups.setdefault((who.unit_id, reminder.kind), []).append(reminder)  # type: ignore[arg-type]
    added = [_combine(plan.day, unit_id, kind, members, unit_names.get(unit_id, ""), robots[unit_id])
             for (unit_id, kind), members in sorted(groups.items())]
    return replace(plan, reminders=[*plan.reminders, *added])


def _combine(day, unit_id: int, kind: ReminderKind, members: Sequence[Reminder], unit_name: str,  # type: ignore[no-untyped-def]
             destinations: tuple[Destination, ...]) -> Reminder:
    items: dict[str, ReminderItem] = {}
    for reminder in members:
        who = reminder.recipient
        for item in reminder.items:
            if kind is ReminderKind.DAILY and not item.responsible_official:
                # An item of the official's unit without a named official: the recipient answers for it.
                item = replace(item, responsible_official=who.name, responsible_phone=who.phone)
            held = items.get(item.number)
            if held is None or urgency_order(item) < urgency_order(held):
                items[item.number] = item
    recipient = Recipient(RecipientKind.GROUP, unit_name, unit_id=unit_id, destinations=destinations)
    return Reminder(day, kind, recipient, tuple(sorted(items.values(), key=urgency_order)))

