"""The reminder planner on a real database (SQLite, and PostgreSQL when configured): who is
reminded of which item, at which urgency, on which days, and escalation up the chain."""
from __future__ import annotations

from datetime import date

import pytest
from alembic.migration import MigrationContext
from alembic.autogenerate import compare_metadata
from ledger_support import Org, build_org
from sqlalchemy import select

from knowledge.db import Base, transaction
from knowledge.ledger import LedgerError, PermissionDenied
from knowledge.ledger.models import HazardEvent
from knowledge.models import AuditLog
from knowledge.reminders.escalation import record_escalations
from knowledge.reminders.messages import Destination, RecipientKind, Reminder, ReminderKind, Urgency
from knowledge.reminders.planner import NOBODY_TO_ESCALATE, UNBOUND, DayPlan, plan_day
from knowledge.reminders.service import ReminderService

MON, TUE, WED, THU, FRI = (date(2026, 3, d) for d in (2, 3, 4, 5, 6))


@pytest.fixture
def org(sessions, settings) -> Org:
    org = build_org(sessions, settings)
    org.svc.add_official(org.admin, "周九", "示例市", "admin")
    return org


def bind(org: Org, name: str, chat_id: int) -> None:
    org.svc.redeem_bind_code(org.svc.issue_bind_code(org.admin, name), chat_id)


def plan(org: Org, day: date) -> DayPlan:
    return plan_day(org.svc.sessions, org.svc.settings, day, calendar=org.svc.calendar)


def of(p: DayPlan, kind: ReminderKind, name: str) -> Reminder | None:
    found = [r for r in p.reminders if r.kind == kind and r.recipient.name == name]
    assert len(found) <= 1, "one reminder per recipient per day per kind"
    return found[0] if found else None


def items(p: DayPlan, kind: ReminderKind, name: str) -> dict[str, tuple[Urgency, int]]:
    r = of(p, kind, name)
    return {i.number: (i.urgency, i.working_days) for i in r.items} if r else {}


def test_schema_matches_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "reminder_" in repr(d)] == []


def test_each_urgency_for_the_responsible_official_most_urgent_first(org):
    soon = org.item(deadline="2026-03-09")    # Monday next week
    today = org.item(deadline="2026-03-04")
    late = org.item(deadline="2026-03-03")
    far = org.item(deadline="2026-03-31")
    bind(org, "张三", 1001)
    p = plan(org, WED)
    assert p.working_day
    daily = of(p, ReminderKind.DAILY, "张三")
    assert daily is not None and daily.recipient.official_id is not None
    assert daily.recipient.destinations == (Destination("telegram", "1001"),)
    assert [(i.number, i.urgency, i.working_days) for i in daily.items] == [
        (late, Urgency.OVERDUE, 1), (today, Urgency.DUE_TODAY, 0), (soon, Urgency.DUE_SOON, 3)]
    assert far not in daily.item_numbers
    assert daily.items[0].actions == ("progress", "request_extension", "request_review")
    assert daily.items[0].responsible_official == "张三" and daily.items[0].responsible_unit == "东街道"


def test_overdue_counts_working_days_every_working_day_until_closed(org):
    n = org.item(deadline="2026-03-06")       # Friday
    for day, overdue in ((date(2026, 3, 9), 1), (date(2026, 3, 10), 2), (date(2026, 3, 16), 6)):
        assert items(plan(org, day), ReminderKind.DAILY, "张三")[n] == (Urgency.OVERDUE, overdue)
    later = org.at(date(2026, 3, 16))
    later.update_progress(org.admin, n, "已整改")
    later.request_review(org.admin, n, "整改完成")
    later.review(org.admin, n, True, "复查合格")
    assert n not in items(plan(org, date(2026, 3, 17)), ReminderKind.DAILY, "张三")


def test_item_without_official_goes_to_the_responsible_units_officials(org):
    org.svc.add_official(org.admin, "吴十", "西街道", "official")
    n = org.item(unit="西街道", responsible_official=None, deadline="2026-03-04", supervising_unit="乙区")
    p = plan(org, WED)
    assert items(p, ReminderKind.DAILY, "赵六")[n] == (Urgency.DUE_TODAY, 0)
    assert items(p, ReminderKind.DAILY, "吴十")[n] == (Urgency.DUE_TODAY, 0)


def test_unbound_officials_are_listed_for_the_admins(org):
    n = org.item(deadline="2026-03-04")
    bind(org, "周九", 9009)
    p = plan(org, WED)
    assert of(p, ReminderKind.DAILY, "张三").recipient.destinations == ()
    unbound = [u for u in p.unreachable if u.reason == UNBOUND]
    assert [(u.name, u.items) for u in unbound] == [("张三（东街道）", (n,))]
    summary = of(p, ReminderKind.ADMIN_SUMMARY, "周九")
    assert summary is not None and summary.recipient.destinations == (Destination("telegram", "9009"),)
    assert summary.unreachable == tuple(p.unreachable)


def test_undeliverable_destination_is_reported_until_an_admin_clears_it(org):
    reminders = ReminderService(org.svc)
    n = org.item(deadline="2026-03-04")
    bind(org, "张三", 1001)
    reminders.mark_undeliverable("telegram", "1001", "已屏蔽机器人")
    p = plan(org, WED)
    assert of(p, ReminderKind.DAILY, "张三").recipient.destinations == ()
    assert [(u.name, u.reason, u.items) for u in p.unreachable] == [("张三（东街道）", "已屏蔽机器人", (n,))]
    with pytest.raises(PermissionDenied):
        reminders.clear_undeliverable(org.zhang, "telegram", "1001")
    reminders.clear_undeliverable(org.admin, "telegram", "1001")
    assert reminders.undeliverable() == []
    p = plan(org, WED)
    assert of(p, ReminderKind.DAILY, "张三").recipient.destinations == (Destination("telegram", "1001"),)
    assert p.unreachable == []


def test_supervisors_hear_of_pending_extensions_and_long_reviews(org):
    ext = org.item(deadline="2026-03-31")
    review = org.item(deadline="2026-03-31")
    org.svc.request_extension(org.zhang, ext, "2026-04-30", "设备到货延迟")
    org.svc.request_review(org.zhang, review, "已清理完毕")   # on Monday 2 March
    p = plan(org, WED)                                         # 2 working days: not yet
    assert items(p, ReminderKind.DAILY, "李四") == {ext: (Urgency.AWAITING_DECISION, 19)}
    decision = of(p, ReminderKind.DAILY, "李四").items[0]
    assert "decide_extension" in decision.actions
    assert "request_extension" not in items(p, ReminderKind.DAILY, "张三")
    p = plan(org, THU)                                         # 3 working days waiting
    waiting = {i.number: i for i in of(p, ReminderKind.DAILY, "李四").items}
    assert waiting[review].urgency == Urgency.AWAITING_REVIEW
    assert waiting[review].actions == ("review_pass", "review_fail")
    assert [i.number for i in of(p, ReminderKind.DAILY, "李四").items] == [ext, review]


def test_both_escalation_levels_fire_once_each(org, sessions):
    n = org.item(deadline="2026-03-04")
    bind(org, "李四", 2002)
    assert of(plan(org, WED), ReminderKind.ESCALATION, "李四") is None   # due today: no escalation yet

    thu = plan(org, THU)                                  # 1 working day overdue: level 1
    first = of(thu, ReminderKind.ESCALATION, "李四")
    assert [(i.number, i.escalation_level) for i in first.items] == [(n, 1)]
    assert of(thu, ReminderKind.ESCALATION, "周九") is None
    with transaction(sessions) as s:
        assert record_escalations(s, thu.reminders) == [(n, 1)]
    with transaction(sessions) as s:
        assert record_escalations(s, thu.reminders) == []  # idempotent
    assert plan(org, THU) == thu                          # the same day plans the same again
    assert of(plan(org, FRI), ReminderKind.ESCALATION, "李四") is None   # fired: not again

    wed = plan(org, date(2026, 3, 11))                    # 5 working days overdue: level 2
    second = of(wed, ReminderKind.ESCALATION, "周九")       # admin of the unit above (甲区 has none → 示例市)
    assert [(i.number, i.escalation_level) for i in second.items] == [(n, 2)]
    assert of(wed, ReminderKind.ESCALATION, "李四") is None
    with transaction(sessions) as s:
        assert record_escalations(s, wed.reminders) == [(n, 2)]
        assert record_escalations(s, wed.reminders) == []
    assert not [r for r in plan(org, date(2026, 3, 20)).reminders if r.kind == ReminderKind.ESCALATION]

    view = org.svc.get(org.admin, n)
    assert [(x.level, x.fired_on) for x in view.escalations] == [(1, THU), (2, date(2026, 3, 11))]
    escalate = [e for e in view.history if e.action == "escalate"]
    assert [e.changes["level"] for e in escalate] == [1, 2]
    assert "李四" in escalate[0].note and "周九" in escalate[1].note
    with sessions() as s:
        audits = s.execute(select(AuditLog.detail).where(AuditLog.action == "hazard.escalate",
                                                         AuditLog.object_id == n)).scalars().all()
    assert [a["level"] for a in audits] == [1, 2]


def test_escalation_with_nobody_above_is_reported(sessions, settings):
    org = build_org(sessions, settings)                   # no admin official anywhere
    n = org.item(deadline="2026-03-04")
    p = plan(org, date(2026, 3, 11))
    assert [u.items for u in p.unreachable if u.reason == NOBODY_TO_ESCALATE] == [(n,)]


def test_holiday_working_day_and_make_up_saturday(org):
    n = org.item(deadline="2026-04-03")                   # Friday before 清明
    holiday = plan(org, date(2026, 4, 6))                 # Monday, 清明节
    assert holiday == DayPlan(date(2026, 4, 6), False, [], [])
    assert items(plan(org, date(2026, 4, 7)), ReminderKind.DAILY, "张三")[n] == (Urgency.OVERDUE, 1)
    assert plan(org, date(2026, 3, 7)).working_day is False          # an ordinary Saturday
    m = org.item(deadline="2026-05-08")                    # Friday before the 调休 Saturday
    saturday = plan(org, date(2026, 5, 9))
    assert saturday.working_day
    assert items(saturday, ReminderKind.DAILY, "张三")[m] == (Urgency.OVERDUE, 1)
    assert items(plan(org, date(2026, 5, 11)), ReminderKind.DAILY, "张三")[m] == (Urgency.OVERDUE, 2)


def test_planning_non_working_days_when_configured(org):
    org.svc.settings.reminder_workdays_only = False
    n = org.item(deadline="2026-03-06")
    p = plan(org, date(2026, 3, 7))
    assert p.working_day is False
    assert items(p, ReminderKind.DAILY, "张三")[n] == (Urgency.OVERDUE, 1)


def test_listed_items_get_a_weekly_nudge_on_the_first_working_day_of_the_week(org):
    n = org.item(deadline="2026-06-30", listed_supervision=True)
    assert items(plan(org, date(2026, 3, 9)), ReminderKind.DAILY, "张三")[n][0] == Urgency.WEEKLY_LISTED
    assert n not in items(plan(org, date(2026, 3, 10)), ReminderKind.DAILY, "张三")
    assert n not in items(plan(org, date(2026, 4, 6)), ReminderKind.DAILY, "张三")   # holiday Monday…
    assert n in items(plan(org, date(2026, 4, 7)), ReminderKind.DAILY, "张三")       # …so Tuesday
    assert n not in items(plan(org, date(2026, 4, 8)), ReminderKind.DAILY, "张三")


def test_group_digest_counts_and_overdue_items_of_the_unit_and_below(org):
    reminders = ReminderService(org.svc)
    with pytest.raises(PermissionDenied):
        reminders.link_chat(org.li, "甲区", "telegram", "-100")
    link = reminders.link_chat(org.admin, "甲区", "telegram", -100)
    assert (link.unit, link.address) == ("甲区", "-100")
    reminders.link_chat(org.admin, "乙区", "telegram", "-200")
    with pytest.raises(LedgerError):
        reminders.link_chat(org.admin, "甲区", "telegram", "-100")
    late = org.item(deadline="2026-03-03")
    late2 = org.item(unit="某化工公司", responsible_official=None, deadline="2026-03-02")
    soon = org.item(deadline="2026-03-06", listed_supervision=True)
    org.item(deadline="2026-04-30")
    p = plan(org, WED)
    digest = of(p, ReminderKind.DIGEST, "甲区")
    assert digest.recipient.kind == RecipientKind.GROUP
    assert digest.recipient.destinations == (Destination("telegram", "-100"),)
    assert (digest.counts.open, digest.counts.due_soon, digest.counts.overdue, digest.counts.listed) == (4, 1, 2, 1)
    assert [(i.number, i.responsible_unit) for i in digest.items] == [(late, "东街道"), (late2, "某化工公司")]
    assert soon not in digest.item_numbers and not digest.all_clear
    quiet = of(p, ReminderKind.DIGEST, "乙区")
    assert quiet.all_clear and quiet.items == () and quiet.counts.open == 0
    org.svc.settings.digest_all_clear = False
    assert of(plan(org, WED), ReminderKind.DIGEST, "乙区") is None
    # Moving a group to another unit, unlinking, and the audit trail.
    reminders.link_chat(org.admin, "东街道", "telegram", "-100")
    assert [(x.unit, x.address) for x in reminders.linked_chats()] == [("东街道", "-100"), ("乙区", "-200")]
    reminders.unlink_chat(org.admin, "telegram", "-100")
    assert reminders.chat_unit("telegram", "-100") is None
    assert of(plan(org, WED), ReminderKind.DIGEST, "东街道") is None
    with org.svc.sessions() as s:
        actions = s.execute(select(AuditLog.action).where(AuditLog.action.like("unit.%link_chat"))).scalars().all()
    assert actions == ["unit.link_chat", "unit.link_chat", "unit.link_chat", "unit.unlink_chat"]


def test_acknowledgement_is_recorded_once_and_shown_to_supervisors(org):
    reminders = ReminderService(org.svc)
    n = org.item(deadline="2026-03-03")
    version = org.svc.get(org.admin, n).version
    assert reminders.acknowledge(org.zhang, n, WED) is True
    assert reminders.acknowledge(org.zhang, n, WED) is False
    view = org.svc.get(org.admin, n)
    assert view.version == version                         # other buttons of the reminder stay valid
    assert [e.note for e in view.history if e.action == "acknowledge"] == ["2026-03-04的提醒"]
    p = plan(org, WED)
    escalated = of(p, ReminderKind.ESCALATION, "李四").items[0]
    assert (escalated.acknowledged_on, escalated.acknowledged_by) == (WED, "张三")
    with pytest.raises(PermissionDenied):
        reminders.acknowledge(org.sun, n, WED)             # viewer


def test_plans_are_deterministic(org):
    for i in range(6):
        org.item(deadline=f"2026-03-0{3 + i % 3}", unit="西街道" if i % 2 else "东街道",
                 responsible_official=None if i % 2 else "张三", supervising_unit="乙区" if i % 2 else "甲区/应急管理局")
    ReminderService(org.svc).link_chat(org.admin, "示例市", "telegram", "-1")
    first, second = plan(org, date(2026, 3, 10)), plan(org, date(2026, 3, 10))
    assert first == second and first.reminders
    kinds = {r.kind for r in first.reminders}
    assert {ReminderKind.DAILY, ReminderKind.ESCALATION, ReminderKind.DIGEST} <= kinds


def test_history_labels_read_in_chinese(org):
    n = org.item(deadline="2026-03-03")
    ReminderService(org.svc).acknowledge(org.zhang, n, WED)
    with org.svc.sessions() as s:
        assert s.execute(select(HazardEvent.action).where(HazardEvent.action == "acknowledge")).scalar_one()
    from knowledge.ledger.statemachine import ACTION_LABELS

    assert ACTION_LABELS["acknowledge"] == "已知悉" and ACTION_LABELS["escalate"] == "逾期升级提醒"
