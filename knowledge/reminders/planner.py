"""The daily plan: which items are reminded, to whom, at which urgency and escalation level.

``plan_day(sessions, settings, day)`` only reads. Given the same database and day it returns the
same plan (reminders, items and unreachable entries in a fixed order), so a dispatcher can plan
again after a crash and find the same deliveries. Selection happens in SQL: only open items near
or past their deadline, 挂牌督办 items on the nudge day, pending extension requests and long
待复查 waits are loaded, never the whole ledger.

Who gets what (issue 9, "What is reminded, and to whom"):

- DAILY, one per official: the items they are responsible for (the item's official; when it has
  none, the officials of the responsible unit) that are overdue, due today, due within
  ``reminder_due_soon_days`` working days, or 挂牌督办 on the weekly nudge day; plus, for
  supervisors (the official's supervisor and the supervisors of the 督办单位), extension requests
  awaiting their decision and items 待复查 for more than ``reminder_review_wait_days`` working days.
- ESCALATION, one per official: overdue items reaching a level of ``escalate_after_days`` whose
  level has not fired on an earlier day (see ``escalation.record_escalations``). Level 1: the
  official's supervisor and the 督办单位's supervisors. Level k ≥ 2: the admins and supervisors of
  the unit k-1 levels above the 督办单位 (above the responsible unit when there is none), capped at
  the root unit. Where a level finds nobody, it climbs on until someone is found.
- DIGEST, one per linked unit: counts for the unit and its sub-units and their overdue items.
- ADMIN_SUMMARY: who could not be reached (no bound chat account, destination undeliverable,
  nobody to escalate to), to the admin chat or to each admin official.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.config import Settings
from knowledge.ledger.base import calendar_for
from knowledge.ledger.hazards import HazardService
from knowledge.ledger.models import (
    ExtensionRequest,
    ExtensionStatus,
    Hazard,
    HazardEvent,
    Official,
    Role,
    Status,
    Unit,
)
from knowledge.ledger.permissions import Actor, is_assignee, supervises
from knowledge.ledger.queries import IS_OPEN
from knowledge.ledger.workdays import HolidayCalendar
from knowledge.reminders.daycount import WorkdayCounter
from knowledge.reminders.links import CHAT_ACCOUNT_KIND, destinations_of_units, undeliverable_reasons
from knowledge.reminders.messages import (
    Destination,
    DigestCounts,
    Recipient,
    RecipientKind,
    Reminder,
    ReminderItem,
    ReminderKind,
    Unreachable,
    Urgency,
)
from knowledge.reminders.models import Acknowledgement, Escalation

UNBOUND = "未绑定"
NOBODY_TO_ESCALATE = "无人可接收升级提醒"
_KIND_ORDER = {kind: i for i, kind in enumerate(ReminderKind)}
_RANK = {urgency: urgency.rank for urgency in Urgency}
_ENTRY_FIELDS = ("number", "description", "deadline", "urgency", "working_days", "responsible_unit",
                 "responsible_official", "responsible_phone", "status", "listed_supervision", "escalation_level",
                 "version", "actions", "acknowledged_on", "acknowledged_by")
if tuple(f.name for f in fields(ReminderItem))[:len(_ENTRY_FIELDS)] != _ENTRY_FIELDS:  # pragma: no cover
    raise ImportError("ReminderItem's field order changed: update the planner's positional construction")


@dataclass
class DayPlan:
    """Everything to deliver on ``day``. ``working_day`` is False (and nothing is planned) on
    holidays and weekends when ``reminder_workdays_only`` is set."""

    day: date
    working_day: bool
    reminders: list[Reminder] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)

    def for_official(self, official_id: int) -> list[Reminder]:
        """This official's reminders of the day (DAILY and ESCALATION), e.g. for ``/remind``."""
        return [r for r in self.reminders
                if r.recipient.kind == RecipientKind.OFFICIAL and r.recipient.official_id == official_id]


@dataclass(frozen=True, slots=True)
class _UnitRow:
    id: int
    name: str
    path: str
    parent_id: int | None

    def ancestors(self) -> list[int]:
        """Unit ids from the root down to this unit (inclusive)."""
        return [int(p) for p in self.path.strip("/").split("/") if p]


@dataclass(frozen=True, slots=True)
class _OfficialRow:
    id: int
    name: str
    unit_id: int
    role: str
    phone: str | None
    chat_user_id: int | None
    supervisor_id: int | None


@dataclass(slots=True)
class _Item:
    """The columns of an open item the plan needs, in the shape the permission rules read."""

    id: int
    number: str
    description: str
    deadline: date
    status: str
    responsible_unit_id: int
    responsible_official_id: int | None
    supervising_unit_id: int | None
    listed_supervision: bool
    version: int
    supervising_unit: _UnitRow | None = None


_ITEM_COLUMNS = (Hazard.id, Hazard.number, Hazard.description, Hazard.deadline, Hazard.status,
                 Hazard.responsible_unit_id, Hazard.responsible_official_id, Hazard.supervising_unit_id,
                 Hazard.listed_supervision, Hazard.version)


def plan_day(sessions: sessionmaker[Session], settings: Settings, day: date,
             *, calendar: HolidayCalendar | None = None) -> DayPlan:
    """The reminders of ``day`` (a local date in ``settings.timezone``); reads only.

    ``calendar`` defaults to the deployment's working-day calendar (``calendar_for(settings)``).
    """
    counter = WorkdayCounter(calendar or calendar_for(settings))
    working = counter.is_workday(day)
    if settings.reminder_workdays_only and not working:
        return DayPlan(day, False)
    with sessions() as s:
        return _Planner(s, settings, day, counter, working).plan()


class _Planner:
    def __init__(self, s: Session, settings: Settings, day: date, counter: WorkdayCounter, working: bool) -> None:
        self.s, self.settings, self.day, self.days, self.working = s, settings, day, counter, working
        self.db = s.connection()  # Core rows: no ORM bookkeeping for hundreds of thousands of rows
        self.horizon = counter.add(day, settings.reminder_due_soon_days)
        self.nudge = self._nudge_day()
        self.units = {r.id: _UnitRow(r.id, r.name, r.path, r.parent_id)
                      for r in self.db.execute(select(Unit.id, Unit.name, Unit.path, Unit.parent_id))}
        self.officials: dict[int, _OfficialRow] = {}
        self.by_unit: dict[int, list[_OfficialRow]] = defaultdict(list)
        for r in self.db.execute(select(Official.id, Official.name, Official.unit_id, Official.role, Official.phone,
                                  Official.chat_user_id, Official.supervisor_id)
                           .where(Official.active.is_(True)).order_by(Official.id)):
            row = _OfficialRow(*r)
            self.officials[row.id] = row
            self.by_unit[row.unit_id].append(row)
        self.actors = {o.id: Actor(o.name, o.role, o.id, o.unit_id, self.units[o.unit_id].path,
                                   self.units[o.unit_id].name) for o in self.officials.values()}
        self.undeliverable = undeliverable_reasons(s)
        self.links = destinations_of_units(s)
        self.undeliverable_groups: list[Unreachable] = []
        self.acks: dict[int, tuple[date, str]] = {}
        # Per recipient official id: their entries (one per item), for DAILY and for ESCALATION;
        # per linked unit id: (responsible unit id, entry) of the overdue items at or below it.
        self.daily: dict[int, list[ReminderItem]] = defaultdict(list)
        self.escalated: dict[int, list[ReminderItem]] = defaultdict(list)
        self.digest_overdue: dict[int, list[tuple[int, ReminderItem]]] = defaultdict(list)
        self.no_escalation_target: list[str] = []
        self._people: dict[tuple, list[_OfficialRow]] = {}
        self._steps: dict[tuple, tuple[str, ...]] = {}
        self._timings: dict[date, int] = {}
        self._raw_overdue: dict[date, int] = {}
        self._raw_waits: dict[date, int] = {}
        self._linked_above: dict[int, list[int]] = {}   # unit id -> linked units at or above it

    # ------------------------------------------------------------------ selection (SQL)
    def _nudge_day(self) -> bool:
        """The weekly 挂牌督办 nudge: the configured weekday, or the first working day after it in
        the same week when that day is a holiday."""
        weekday, wanted = self.day.isoweekday(), self.settings.listed_weekly_day
        if weekday < wanted:
            return False
        earlier = (self.day - timedelta(days=n) for n in range(1, weekday - wanted + 1))
        return not any(self.days.is_workday(d) for d in earlier)

    def _select(self) -> tuple[dict[int, _Item], set[int], dict[int, date]]:
        items: dict[int, _Item] = {}

        def load(stmt) -> None:  # type: ignore[no-untyped-def]
            # Streamed in batches: the whole result is never held as one client-side buffer.
            for r in self.db.execution_options(yield_per=20_000).execute(stmt):
                if r[0] not in items:
                    items[r[0]] = _Item(*r)

        load(select(*_ITEM_COLUMNS).where(IS_OPEN, Hazard.deadline <= self.horizon))
        if self.nudge:
            load(select(*_ITEM_COLUMNS).where(IS_OPEN, Hazard.listed_supervision.is_(True),
                                              Hazard.deadline > self.horizon))
        pending = set(self.db.execute(
            select(ExtensionRequest.hazard_id).join(Hazard, Hazard.id == ExtensionRequest.hazard_id)
            .where(ExtensionRequest.status == ExtensionStatus.PENDING, IS_OPEN)).scalars())
        load(select(*_ITEM_COLUMNS).where(Hazard.id.in_(
            select(ExtensionRequest.hazard_id).where(ExtensionRequest.status == ExtensionStatus.PENDING)), IS_OPEN))
        # 待复查 since the latest request for review (the item's update time for imported items
        # without history). A wait of more than N working days is more than N calendar days, so
        # SQL drops the recent ones and Python counts working days for the rest.
        since = (select(func.max(HazardEvent.at)).where(HazardEvent.hazard_id == Hazard.id,
                                                          HazardEvent.to_status == Status.AWAITING_REVIEW)
                 .scalar_subquery())
        waited = func.coalesce(since, Hazard.updated_at)
        tz = ZoneInfo(self.settings.timezone)
        cutoff = datetime.combine(self.day - timedelta(days=self.settings.reminder_review_wait_days), time(),
                                  tz).astimezone(UTC)
        review_since: dict[int, date] = {}
        for r in self.db.execute(select(*_ITEM_COLUMNS, waited).where(Hazard.status == Status.AWAITING_REVIEW,
                                                                 waited < cutoff)):
            at = r[-1] if r[-1].tzinfo else r[-1].replace(tzinfo=UTC)  # SQLite hands back naive UTC
            review_since[r[0]] = at.astimezone(tz).date()
            if r[0] not in items:
                items[r[0]] = _Item(*r[:-1])
        for item in items.values():
            if item.supervising_unit_id is not None:
                item.supervising_unit = self.units.get(item.supervising_unit_id)
        return items, pending, review_since

    # ------------------------------------------------------------------ people
    # Who receives an item depends only on its official and units, which many items share: these
    # lookups are memoised on those keys, so a million-item day walks the organisation once per key.
    def _responsible(self, item: _Item) -> list[_OfficialRow]:
        key = (0, item.responsible_official_id, item.responsible_unit_id, None)
        found = self._people.get(key)
        if found is None:
            found = self._people[key] = self._find_responsible(item)
        return found

    def _find_responsible(self, item: _Item) -> list[_OfficialRow]:
        """The item's official; when it has none (or they left), the responsible unit's officials,
        or failing those its supervisors and admins."""
        official = self.officials.get(item.responsible_official_id or -1)
        if official is not None:
            return [official]
        staff = self.by_unit.get(item.responsible_unit_id, [])
        return [o for o in staff if o.role == Role.OFFICIAL] or [
            o for o in staff if o.role in (Role.SUPERVISOR, Role.ADMIN)]

    def _deciders(self, unit_id: int, roles: tuple[str, ...]) -> list[_OfficialRow]:
        return [o for o in self.by_unit.get(unit_id, []) if o.role in roles]

    def _climb(self, unit_ids: list[int]) -> list[_OfficialRow]:
        """The admins and supervisors of the first unit in ``unit_ids`` (walking up) that has any."""
        for uid in unit_ids:
            found = self._deciders(uid, (Role.ADMIN, Role.SUPERVISOR))
            if found:
                return found
        return []

    def _first_level(self, item: _Item) -> list[_OfficialRow]:
        """The official's supervisor and the supervisors of the 督办单位."""
        people: list[_OfficialRow] = []
        official = self.officials.get(item.responsible_official_id or -1)
        if official is not None and official.supervisor_id in self.officials:
            people.append(self.officials[official.supervisor_id])  # type: ignore[index]
        if item.supervising_unit_id is not None:
            people += self._deciders(item.supervising_unit_id, (Role.SUPERVISOR,))
        return _unique(people)

    def _above_base(self, item: _Item) -> list[int]:
        """Unit ids above the 督办单位 (or the responsible unit), nearest first, up to the root."""
        base = self.units.get(item.supervising_unit_id or item.responsible_unit_id)
        return list(reversed(base.ancestors()[:-1])) if base else []

    def _supervisors(self, item: _Item) -> list[_OfficialRow]:
        """Who decides extensions and reviews: level-1 people, else the nearest admins above."""
        return self._level(item, 1)

    def _level(self, item: _Item, level: int) -> list[_OfficialRow]:
        key = (level, item.responsible_official_id, item.responsible_unit_id, item.supervising_unit_id)
        found = self._people.get(key)
        if found is None:
            found = self._people[key] = self._find_level(item, level)
        return found

    def _find_level(self, item: _Item, level: int) -> list[_OfficialRow]:
        above = self._above_base(item)
        if level == 1:
            return self._first_level(item) or self._climb(above)
        # Level k: k-1 units above the base, but never beyond the root.
        start = min(level - 2, len(above) - 1)
        return self._climb(above[start:]) if above else []

    # ------------------------------------------------------------------ items
    def _actions(self, official: _OfficialRow, item: _Item, pending: bool) -> tuple[str, ...]:
        key = (official.id, item.responsible_official_id == official.id,
               item.responsible_unit_id == official.unit_id, item.supervising_unit_id, item.status, pending)
        found = self._steps.get(key)
        if found is None:
            found = self._steps[key] = self._find_actions(official, item, pending)
        return found

    def _find_actions(self, official: _OfficialRow, item: _Item, pending: bool) -> tuple[str, ...]:
        """What the recipient's buttons may offer, by the ledger's own permission rules
        (the same answer as ``LedgerService.offered_steps``, plus deciding a pending extension)."""
        actor = self.actors[official.id]
        if actor.role == Role.VIEWER:
            return ()
        steps: list[str] = []
        if is_assignee(actor, item) and item.status in (Status.PENDING, Status.IN_PROGRESS):  # type: ignore[arg-type]
            steps += [x for x in HazardService.ASSIGNEE_STEPS if not (pending and x == "request_extension")]
        if supervises(actor, item):  # type: ignore[arg-type]
            if item.status == Status.AWAITING_REVIEW:
                steps += HazardService.SUPERVISOR_STEPS
            if pending:
                steps.append("decide_extension")
        return tuple(steps)

    def _timing(self, item: _Item) -> int:
        found = self._timings.get(item.deadline)
        if found is None:
            if item.deadline < self.day:
                # At least 1: planning a holiday (reminder_workdays_only off) still says "overdue".
                found = max(1, self.days.between(item.deadline, self.day))
            else:
                found = self.days.between(self.day, item.deadline)
            self._timings[item.deadline] = found
        return found

    def _item_fields(self, item: _Item) -> tuple:
        """The fields of an item's entries that do not depend on the recipient, in the order of
        ``_ENTRY_FIELDS``."""
        official = self.officials.get(item.responsible_official_id or -1)
        ack = self.acks.get(item.id) or (None, None)
        return (item.number, item.description, item.deadline, self._timing(item),
                self.units[item.responsible_unit_id].name, official.name if official else None,
                official.phone if official else None, item.status, item.listed_supervision, item.version, *ack)

    # ------------------------------------------------------------------ the plan
    def plan(self) -> DayPlan:
        items, pending, review_since = self._select()
        if not items and not self.links:
            return self._finish([], [])
        self.days.prepare(min([i.deadline for i in items.values()] + [self.day]),
                          max([i.deadline for i in items.values()] + [self.horizon]))
        self.acks = self._latest_acks(items)
        fired = self._fired(items)
        for hid in sorted(items):
            self._plan_item(items[hid], hid in pending, review_since.get(hid), fired)
        del items, fired  # the entries hold what is needed
        reminders = self._official_reminders(ReminderKind.DAILY, self.daily)
        reminders += self._official_reminders(ReminderKind.ESCALATION, self.escalated)
        reminders += self._digests()
        return self._finish(reminders, self._unreachable(reminders))

    def _plan_item(self, item: _Item, pending: bool, review_since: date | None,
                   fired: dict[int, int]) -> None:
        """One item's entries: its people's daily list, escalations, digests. Entries with equal
        content are one shared object (memory: a large day has about a million entries)."""
        made: dict[tuple, ReminderItem] = {}
        fields = self._item_fields(item)

        number, description, deadline, days, unit_name, name, phone, status, listed, version, ack_on, ack_by = fields

        def entry(urgency: Urgency, actions: tuple[str, ...] = (), level: int | None = None) -> ReminderItem:
            found = made.get((urgency, actions, level))
            if found is None:
                # Positional: a frozen dataclass is slow to build from keywords, and a day can
                # build a million of these. _ENTRY_FIELDS pins the order.
                found = made[(urgency, actions, level)] = ReminderItem(
                    number, description, deadline, urgency, days, unit_name, name, phone, status, listed, level,
                    version, actions, ack_on, ack_by)
            return found

        mine: dict[int, ReminderItem] = {}   # official id -> the item's most urgent entry for them
        urgency = self._own_urgency(item)
        if urgency is not None:
            for official in self._responsible(item):
                mine[official.id] = entry(urgency, self._actions(official, item, pending))
        waiting = review_since is not None and self._waited(review_since) > self.settings.reminder_review_wait_days
        if pending or waiting:
            why = Urgency.AWAITING_DECISION if pending else Urgency.AWAITING_REVIEW
            for official in self._supervisors(item):
                candidate = entry(why, self._actions(official, item, pending))
                held = mine.get(official.id)
                if held is None or _RANK[candidate.urgency] < _RANK[held.urgency]:
                    mine[official.id] = candidate
        for oid, found in mine.items():
            self.daily[oid].append(found)
        if item.deadline >= self.day:
            return
        overdue = self._overdue_days(item.deadline)
        escalated: dict[int, ReminderItem] = {}   # the highest level wins when one person is on several
        for level, after in enumerate(self.settings.escalate_after_days, 1):
            if overdue < after or fired.get(item.id, 0) & (1 << level):
                continue
            people = self._level(item, level)
            if not people:
                self.no_escalation_target.append(item.number)
            for official in people:
                escalated[official.id] = entry(Urgency.OVERDUE, self._actions(official, item, pending), level)
        for oid, found in escalated.items():
            self.escalated[oid].append(found)
        linked = self._linked_above.get(item.responsible_unit_id)
        if linked is None:
            unit = self.units[item.responsible_unit_id]
            linked = self._linked_above[unit.id] = [anc for anc in unit.ancestors() if anc in self.links]
        if linked:
            plain = entry(Urgency.OVERDUE)
            for anc in linked:
                self.digest_overdue[anc].append((item.responsible_unit_id, plain))

    def _waited(self, since: date) -> int:
        found = self._raw_waits.get(since)
        if found is None:
            found = self._raw_waits[since] = self.days.between(since, self.day)
        return found

    def _overdue_days(self, deadline: date) -> int:
        found = self._raw_overdue.get(deadline)
        if found is None:
            found = self._raw_overdue[deadline] = self.days.between(deadline, self.day)
        return found

    def _own_urgency(self, item: _Item) -> Urgency | None:
        if item.deadline < self.day:
            return Urgency.OVERDUE
        if item.deadline == self.day:
            return Urgency.DUE_TODAY
        if item.deadline <= self.horizon:
            return Urgency.DUE_SOON
        if item.listed_supervision and self.nudge:
            return Urgency.WEEKLY_LISTED
        return None

    def _latest_acks(self, items: dict[int, _Item]) -> dict[int, tuple[date, str]]:
        latest: dict[int, tuple[date, str]] = {}
        rows = self.db.execute(select(Acknowledgement.hazard_id, Acknowledgement.day, Acknowledgement.actor)
                              .join(Hazard, Hazard.id == Acknowledgement.hazard_id).where(IS_OPEN)
                              .order_by(Acknowledgement.day, Acknowledgement.id))
        for hid, day, actor in rows:
            if hid in items and day <= self.day:
                latest[hid] = (day, _person(actor))
        return latest

    def _fired(self, items: dict[int, _Item]) -> dict[int, int]:
        """Levels fired on an earlier day, as a bit mask per item. Levels recorded today still
        count as due, so planning the same day again gives the same plan."""
        fired: dict[int, int] = {}
        rows = self.db.execution_options(yield_per=20_000).execute(
            select(Escalation.hazard_id, Escalation.level).join(Hazard, Hazard.id == Escalation.hazard_id)
            .where(IS_OPEN, Hazard.deadline < self.day, Escalation.fired_on < self.day))
        for hid, level in rows:
            if hid in items:
                fired[hid] = fired.get(hid, 0) | (1 << level)
        return fired

    def _recipient(self, official: _OfficialRow) -> Recipient:
        return Recipient(RecipientKind.OFFICIAL, official.name, official.id, official.unit_id, official.phone,
                         self._official_destinations(official))

    def _official_destinations(self, official: _OfficialRow) -> tuple[Destination, ...]:
        if official.chat_user_id is None:
            return ()
        dest = Destination(CHAT_ACCOUNT_KIND, str(official.chat_user_id))
        return () if dest in self.undeliverable else (dest,)

    def _official_reminders(self, kind: ReminderKind, box: dict[int, list[ReminderItem]]) -> list[Reminder]:
        return [Reminder(self.day, kind, self._recipient(self.officials[oid]), tuple(sorted(box[oid], key=urgency_order)))
                for oid in sorted(box) if box[oid]]

    # ------------------------------------------------------------------ group digests
    def _digests(self) -> list[Reminder]:
        links = self.links
        if not links:
            return []
        linked = set(links)
        counts: dict[int, list[int]] = {uid: [0, 0, 0, 0] for uid in linked}
        rows = self.db.execute(
            select(Hazard.responsible_unit_id, func.count(),
                   func.sum(_flag(and_(Hazard.deadline >= self.day, Hazard.deadline <= self.horizon))),
                   func.sum(_flag(Hazard.deadline < self.day)),
                   func.sum(_flag(Hazard.listed_supervision.is_(True))))
            .where(IS_OPEN).group_by(Hazard.responsible_unit_id))
        for uid, n, soon, over, listed in rows:
            unit = self.units.get(uid)
            for anc in unit.ancestors() if unit else ():
                if anc in linked:
                    total = counts[anc]
                    total[0] += n
                    total[1] += int(soon or 0)
                    total[2] += int(over or 0)
                    total[3] += int(listed or 0)
        out = []
        for uid in sorted(linked, key=lambda u: self.units[u].path):
            unit = self.units[uid]
            c = DigestCounts(*counts[uid])
            clear = c.overdue == 0 and c.due_soon == 0
            if clear and not self.settings.digest_all_clear:
                continue
            dests = []
            for dest in links[uid]:
                if dest in self.undeliverable:
                    self.undeliverable_groups.append(Unreachable(
                        f"{unit.name}（{dest.kind} 群 {dest.address}）", self.undeliverable[dest]))
                else:
                    dests.append(dest)
            # 通报 order: by responsible unit (the hierarchy's order), official, longest overdue first.
            listed = [e for _, e in sorted(self.digest_overdue.get(uid, []), key=lambda x: (
                self.units[x[0]].path, x[1].responsible_official or "", -x[1].working_days, x[1].number))]
            out.append(Reminder(self.day, ReminderKind.DIGEST,
                                Recipient(RecipientKind.GROUP, unit.name, unit_id=uid, destinations=tuple(dests)),
                                tuple(listed), counts=c, all_clear=clear))
        return out

    # ------------------------------------------------------------------ nobody silently skipped
    def _unreachable(self, reminders: list[Reminder]) -> list[Unreachable]:
        out: list[Unreachable] = []
        for r in reminders:
            if r.recipient.kind != RecipientKind.OFFICIAL or r.recipient.destinations:
                continue
            official = self.officials[r.recipient.official_id]  # type: ignore[index]
            reason = UNBOUND if official.chat_user_id is None else self.undeliverable.get(
                Destination(CHAT_ACCOUNT_KIND, str(official.chat_user_id)), "无法送达")
            out.append(Unreachable(f"{official.name}（{self.units[official.unit_id].name}）", reason,
                                   tuple(r.item_numbers)))
        out += self.undeliverable_groups
        if self.no_escalation_target:
            out.append(Unreachable("逾期升级", NOBODY_TO_ESCALATE, tuple(sorted(set(self.no_escalation_target)))))
        return _merge_unreachable(out)

    def _finish(self, reminders: list[Reminder], unreachable: list[Unreachable]) -> DayPlan:
        if unreachable:
            reminders += [Reminder(self.day, ReminderKind.ADMIN_SUMMARY, who, unreachable=tuple(unreachable))
                          for who in self._admins()]
        reminders.sort(key=lambda r: (_KIND_ORDER[r.kind], r.recipient.official_id or 0,
                                      r.recipient.unit_id or 0, r.recipient.name))
        return DayPlan(self.day, self.working, reminders, unreachable)

    def _admins(self) -> list[Recipient]:
        """The admin chat when configured; otherwise every active admin official, and the
        bot's configured admin accounts that are not officials."""
        if self.settings.admin_chat is not None:
            return [Recipient(RecipientKind.ADMIN, "管理员群", destinations=(
                Destination(CHAT_ACCOUNT_KIND, str(self.settings.admin_chat)),))]
        admins = [o for o in self.officials.values() if o.role == Role.ADMIN]
        out = [Recipient(RecipientKind.ADMIN, o.name, o.id, o.unit_id, o.phone, self._official_destinations(o))
               for o in admins]
        bound = {o.chat_user_id for o in admins}
        out += [Recipient(RecipientKind.ADMIN, f"管理员 {uid}", destinations=(Destination(CHAT_ACCOUNT_KIND, str(uid)),))
                for uid in self.settings.admin_ids if uid not in bound]
        return out


def _flag(condition):  # type: ignore[no-untyped-def]
    return case((condition, 1), else_=0)


def urgency_order(item: ReminderItem) -> tuple:
    """Most urgent first: by urgency, then the longest overdue / the nearest deadline, then number."""
    days = -item.working_days if item.urgency == Urgency.OVERDUE else item.working_days
    return (_RANK[item.urgency], days, item.deadline, item.number)


def _unique(people: Iterable[_OfficialRow]) -> list[_OfficialRow]:
    seen: dict[int, _OfficialRow] = {}
    for p in people:
        seen.setdefault(p.id, p)
    return list(seen.values())


def _person(label: str) -> str:
    """"official:3 张三" → "张三" (the form history and audit labels take)."""
    return label.split(" ", 1)[1] if label.startswith("official:") and " " in label else label


def _merge_unreachable(entries: list[Unreachable]) -> list[Unreachable]:
    merged: dict[tuple[str, str], set[str]] = {}
    for e in entries:
        merged.setdefault((e.name, e.reason), set()).update(e.items)
    return [Unreachable(name, reason, tuple(sorted(items))) for (name, reason), items in sorted(merged.items())]
