"""Which reminders a unit's group robots get.

The outbox keys a delivery by (channel, date, kind), so each robot gets at most one message of
each kind a day: the unit's digest as planned, and the day's personal reminders (or
escalations) of the unit's officials combined into one group message. Whether that message
names and @-mentions the officials or only counts their items is the channel's rendering
choice (``SAFETYBOT_REMINDER_MENTION``). Admin summaries are never posted to robots.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from knowledge.group_robots.models import RobotKind
from knowledge.reminders.messages import Recipient, RecipientKind, Reminder, ReminderItem, ReminderKind


@dataclass(frozen=True)
class RobotDelivery:
    kind: RobotKind     # the channel kind, for the dispatcher's registry
    address: str        # the robot's name
    reminder: Reminder


def robot_deliveries(
    reminders: Iterable[Reminder],
    robots: Mapping[int, list[tuple[str, RobotKind]]],
    unit_names: Mapping[int, str] | None = None,
) -> list[RobotDelivery]:
    """``robots``: working robots by unit id (``RobotChannelService.by_unit()``)."""
    digests: list[Reminder] = []
    personal: dict[tuple[int, ReminderKind], list[Reminder]] = {}
    for reminder in reminders:
        unit_id = reminder.recipient.unit_id
        if unit_id is None or unit_id not in robots:
            continue
        if reminder.kind is ReminderKind.DIGEST:
            digests.append(reminder)
        elif reminder.kind in (ReminderKind.DAILY, ReminderKind.ESCALATION):
            personal.setdefault((unit_id, reminder.kind), []).append(reminder)
    combined = [_combine(unit_id, kind, group, (unit_names or {}).get(unit_id))
                for (unit_id, kind), group in personal.items()]
    return [RobotDelivery(kind, name, reminder)
            for reminder in digests + combined
            for name, kind in robots[reminder.recipient.unit_id]]  # type: ignore[index]


def _combine(unit_id: int, kind: ReminderKind, group: list[Reminder], unit_name: str | None) -> Reminder:
    items: dict[str, ReminderItem] = {}
    for reminder in group:
        who = reminder.recipient
        for item in reminder.items:
            if who.kind is RecipientKind.OFFICIAL and kind is ReminderKind.DAILY and not item.responsible_phone:
                # An item of the official's unit without a named official: the recipient answers for it.
                item = replace(item, responsible_official=item.responsible_official or who.name,
                               responsible_phone=who.phone)
            current = items.get(item.number)
            if current is None or item.urgency.rank < current.urgency.rank:
                items[item.number] = item
    ordered = sorted(items.values(), key=lambda i: (i.urgency.rank, -i.working_days if i.urgency.rank == 0 else i.working_days, i.number))
    name = unit_name or next((i.responsible_unit for i in ordered), "本单位")
    return Reminder(day=group[0].day, kind=kind, recipient=Recipient(RecipientKind.GROUP, name, unit_id=unit_id),
                    items=tuple(ordered))
