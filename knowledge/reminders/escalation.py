"""Recording that an escalation level fired, in the transaction that queues its delivery.

The planner offers an (item, level) pair until a record for it exists with an earlier date, so the
dispatcher calls ``record_escalations`` in the same transaction that creates the outbox rows: the
escalation is then either queued and recorded, or neither. Re-planning the same day still offers
the pairs recorded that day (the plan stays the same after a crash); the next day it does not.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.ledger.models import Hazard, HazardEvent
from knowledge.models import utcnow
from knowledge.reminders.messages import Reminder, ReminderKind
from knowledge.reminders.models import Escalation

SYSTEM_ACTOR = "system:reminders"   # audit log
HISTORY_ACTOR = "系统提醒"            # the item's history, as people read it
LEVEL_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级", 5: "五级"}


def level_name(level: int) -> str:
    return LEVEL_NAMES.get(level, f"{level}级")


def record_escalations(session: Session, reminders: Iterable[Reminder]) -> list[tuple[str, int]]:
    """Record every (item, level) of the ESCALATION reminders that has not fired yet: one
    ``reminder_escalations`` row, one line in the item's history and one audit record each.

    Idempotent and safe against a concurrent caller (``INSERT … ON CONFLICT DO NOTHING``): a pair
    already recorded is skipped without a second history line. Does not commit. Returns the
    (number, level) pairs recorded by this call.
    """
    wanted: dict[tuple[str, int], list[str]] = defaultdict(list)
    day = None
    overdue: dict[str, int] = {}
    for reminder in reminders:
        if reminder.kind != ReminderKind.ESCALATION:
            continue
        day = reminder.day
        for item in reminder.items:
            if item.escalation_level is None:
                continue
            names = wanted[(item.number, item.escalation_level)]
            if reminder.recipient.name not in names:
                names.append(reminder.recipient.name)
            overdue[item.number] = item.working_days
    if not wanted or day is None:
        return []
    numbers = sorted({n for n, _ in wanted})
    ids: dict[str, tuple[int, str]] = {}
    for start in range(0, len(numbers), 1000):
        chunk = numbers[start:start + 1000]
        ids.update({n: (i, st) for i, n, st in session.execute(
            select(Hazard.id, Hazard.number, Hazard.status).where(Hazard.number.in_(chunk)))})
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    recorded: list[tuple[str, int]] = []
    now = utcnow()
    for (number, level), names in sorted(wanted.items()):
        if number not in ids:
            continue
        hid, status = ids[number]
        who = "、".join(names)
        inserted = session.execute(
            insert(Escalation.__table__).values(hazard_id=hid, level=level, fired_on=day, recipients=who, at=now)
            .on_conflict_do_nothing(index_elements=["hazard_id", "level"]).returning(Escalation.__table__.c.id)
        ).first()
        if inserted is None:  # recorded before, by an earlier call or a concurrent dispatcher
            continue
        note = f"逾期{overdue[number]}个工作日，{level_name(level)}升级提醒：{who}"
        session.add(HazardEvent(hazard_id=hid, at=now, actor=HISTORY_ACTOR, action="escalate",
                                from_status=status, to_status=status, note=note,
                                changes={"level": level, "fired_on": day.isoformat(), "recipients": names}))
        audit.record(session, SYSTEM_ACTOR, "hazard.escalate", "hazard", number,
                     {"level": level, "fired_on": day.isoformat(), "recipients": names,
                      "working_days_overdue": overdue[number]})
        recorded.append((number, level))
    session.flush()
    return recorded
