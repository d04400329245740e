"""The ledger service on a real database: state machine, permissions, audit, concurrency, stats."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from ledger_support import Org, build_org, clock_on
from sqlalchemy import func, select

from knowledge.db import Base
from knowledge.ledger import ConcurrentChange, FixedClock, HazardInput, LedgerError, LedgerService, PermissionDenied
from knowledge.ledger.models import Attachment, Hazard, HazardEvent, Status
from knowledge.ledger.statemachine import TRANSITIONS
from knowledge.models import AuditLog

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def org(sessions, settings) -> Org:
    return build_org(sessions, settings)


def _counts(org: Org) -> tuple[int, int, int]:
    with org.svc.sessions() as s:
        return (s.scalar(select(func.count()).select_from(AuditLog)),
                s.scalar(select(func.count()).select_from(HazardEvent)),
                s.scalar(select(func.count()).select_from(Hazard)))


def test_schema_matches_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ledger = [d for d in diff if "ledger_" in repr(d)]
    assert ledger == []


def _to_status(org: Org, status: str) -> str:
    n = org.item()
    svc, a = org.svc, org.admin
    if status in (Status.IN_PROGRESS, Status.AWAITING_REVIEW, Status.CLOSED):
        svc.update_progress(a, n, "已开始整改")
    if status in (Status.AWAITING_REVIEW, Status.CLOSED):
        svc.request_review(a, n, "整改完成")
    if status == Status.CLOSED:
        svc.review(a, n, True, "复查合格")
    assert svc.get(a, n).status == status
    return n


def _do(org: Org, action: str, n: str, tmp_path) -> None:
    svc, a = org.svc, org.admin
    png = tmp_path / "photo.png"
    png.write_bytes(PNG + action.encode())
    {
        "progress": lambda: svc.update_progress(a, n, "进展"),
        "request_review": lambda: svc.request_review(a, n, "已整改"),
        "review_pass": lambda: svc.review(a, n, True, "合格"),
        "review_fail": lambda: svc.review(a, n, False, "仍有货物堆放"),
        "reopen": lambda: svc.reopen(a, n, "回头看发现反弹"),
        "request_extension": lambda: svc.request_extension(a, n, "5个工作日", "需采购设备"),
        "assign": lambda: svc.assign(a, n, responsible_official="赵六"),
        "edit": lambda: svc.edit(a, n, measures="清理通道并每日巡查"),
        "attach": lambda: svc.attach(a, n, [png]),
    }[action]()


@pytest.mark.parametrize("status", Status.ALL)
def test_every_action_in_every_status(org, status, tmp_path):
    for action, transition in TRANSITIONS.items():
        if action == "decide_extension":
            continue  # needs a pending request; covered in test_extension_flow
        n = _to_status(org, status)
        before_version = org.svc.get(org.admin, n).version
        audit_before = _counts(org)[0]
        if status in transition.allowed_from:
            _do(org, action, n, tmp_path)
            after = org.svc.get(org.admin, n)
            assert after.status == (transition.to or status), action
            assert _counts(org)[0] > audit_before
        else:
            with pytest.raises(LedgerError) as err:
                _do(org, action, n, tmp_path)
            assert f"当前状态为“{status}”" in err.value.message, action
            assert org.svc.get(org.admin, n).version == before_version
            assert _counts(org)[0] == audit_before


def test_full_flow_with_failed_review_and_reopen(org):
    svc = org.svc
    n = org.item()
    svc.update_progress(org.zhang, n, "已清理一半")
    svc.request_review(org.zhang, n, "已全部清理")
    view = svc.review(org.li, n, False, "仍有纸箱堵塞")
    assert view.status == Status.IN_PROGRESS
    svc.request_review(org.zhang, n, "再次清理完毕")
    closed = svc.close(org.li, n, "复查合格，同意销号")
    assert closed.status == Status.CLOSED and closed.closed_on == date(2026, 3, 2)
    reopened = svc.reopen(org.li, n, "回头看发现反弹", deadline="3个工作日")
    assert reopened.status == Status.IN_PROGRESS and reopened.closed_on is None
    assert reopened.deadline == date(2026, 3, 5)
    history = svc.get(org.admin, n).history
    assert [e.action for e in history] == [
        "create", "progress", "request_review", "review_fail", "request_review", "review_pass", "reopen"]
    assert history[3].note == "仍有纸箱堵塞" and history[3].actor.endswith("李四")


def test_extension_flow(org):
    svc = org.svc
    n = org.item(deadline="2026-03-10")
    with pytest.raises(LedgerError, match="不晚于现时限"):
        svc.request_extension(org.zhang, n, "2026-03-09", "理由")
    svc.request_extension(org.zhang, n, "5个工作日", "需采购防火门")
    assert svc.get(org.admin, n).deadline == date(2026, 3, 10)  # unchanged until approved
    with pytest.raises(LedgerError, match="已有一项延期申请待审批"):
        svc.request_extension(org.zhang, n, "2026-04-30", "再延")
    with pytest.raises(PermissionDenied):
        svc.decide_extension(org.zhang, n, True)
    with pytest.raises(LedgerError, match="驳回理由"):
        svc.decide_extension(org.li, n, False, "")
    svc.decide_extension(org.li, n, False, "理由不充分")
    assert svc.get(org.admin, n).deadline == date(2026, 3, 10)
    svc.request_extension(org.zhang, n, "2026-03-20", "厂家供货延迟")
    view = svc.decide_extension(org.li, n, True, "同意")
    assert view.deadline == date(2026, 3, 20)
    assert [x.status for x in svc.get(org.admin, n).extensions] == ["已驳回", "已批准"]
    with pytest.raises(LedgerError, match="没有待审批的延期申请"):
        svc.decide_extension(org.li, n, True)


def test_official_cannot_act_on_another_units_item(org):
    n = org.item()
    for call in (
        lambda: org.svc.update_progress(org.zhao, n, "进展"),
        lambda: org.svc.request_review(org.zhao, n, "完成"),
        lambda: org.svc.request_extension(org.zhao, n, "5个工作日", "理由"),
    ):
        with pytest.raises(PermissionDenied) as err:
            call()
        assert "东街道" in err.value.message and "不是您或您所在单位的事项" in err.value.message


def test_official_cannot_close_even_own_item(org):
    n = org.item()
    org.svc.request_review(org.zhang, n, "整改完成")
    with pytest.raises(PermissionDenied, match="须由督办单位或管理员办理"):
        org.svc.close(org.zhang, n, "自己销号")
    assert org.svc.get(org.admin, n).status == Status.AWAITING_REVIEW


def test_supervisor_only_for_items_it_supervises(org):
    ours = org.item()
    theirs = org.item(unit="西街道", responsible_official="赵六", supervising_unit="乙区/应急管理局")
    for n in (ours, theirs):
        org.svc.request_review(org.admin, n, "完成")
    with pytest.raises(PermissionDenied) as err:
        org.svc.close(org.li, theirs, "越权销号")
    assert "不在您所在单位的督办范围内" in err.value.message
    assert org.svc.close(org.li, ours, "合格").status == Status.CLOSED
    # 钱七 sits at 乙区 itself, which covers its 应急管理局 below it.
    assert org.svc.close(org.qian, theirs, "合格").status == Status.CLOSED


def test_viewer_is_read_only(org):
    n = org.item()
    assert org.svc.get(org.sun, n).number == n
    assert len(org.svc.list_hazards(org.sun, org.svc.filter_for(unit="示例市"))) == 1
    before = _counts(org)
    for call in (
        lambda: org.svc.update_progress(org.sun, n, "x进展"),
        lambda: org.svc.create_hazard(org.sun, HazardInput("配电箱无防护", "东街道", "5个工作日")),
        lambda: org.svc.assign(org.sun, n, responsible_official="赵六"),
    ):
        with pytest.raises(PermissionDenied, match="只读"):
            call()
    with pytest.raises(PermissionDenied, match="管理员"):
        org.svc.add_unit(org.sun, "新单位", "企业", parent="东街道")
    assert _counts(org) == before


def test_who_may_create(org):
    own = org.svc.create_hazard(org.zhang, HazardInput("自查发现灭火器过期", "某化工公司", "5个工作日",
                                                       source="自查"))
    assert own.item.responsible_unit == "某化工公司"
    with pytest.raises(PermissionDenied, match="只能登记本单位"):
        org.svc.create_hazard(org.zhang, HazardInput("灭火器过期", "西街道", "5个工作日"))
    by_sup = org.svc.create_hazard(org.li, HazardInput("检查发现配电箱无防护", "东街道", "5个工作日"))
    assert by_sup.item.supervising_unit == "应急管理局"
    with pytest.raises(PermissionDenied, match="督办单位须为您所在单位"):
        org.svc.create_hazard(org.li, HazardInput("配电箱无防护", "西街道", "5个工作日",
                                                  supervising_unit="乙区/应急管理局"))


def test_bad_input_on_create_changes_nothing(org):
    before = _counts(org)
    cases = [
        (dict(unit="不存在的单位"), "未找到单位"),
        (dict(responsible_official="查无此人"), "未找到人员"),
        (dict(deadline="2026-03-01"), "早于今天"),
        (dict(deadline="2026/13/01"), "月份应在1到12之间"),
        (dict(deadline="下周五"), "无法识别"),
        (dict(unit="应急管理局"), "不唯一"),
        (dict(level="特大"), "隐患等级"),
    ]
    for kw, fragment in cases:
        with pytest.raises(LedgerError) as err:
            org.item(**kw)
        assert fragment in err.value.message
    assert _counts(org) == before


def test_numbers_are_sequential_per_year(org):
    first = org.item()
    with pytest.raises(LedgerError):
        org.item(deadline="下周五")
    second = org.item(description="消防通道被车辆占用")
    assert (first, second) == ("YH-2026-0001", "YH-2026-0002")


def test_overdue_is_derived_from_the_deadline(org):
    n = org.item(deadline="2026-03-04")
    flt = org.svc.filter_for(unit="甲区", overdue=True)
    assert org.svc.list_hazards(org.admin, flt) == []
    later = org.at(date(2026, 3, 5))
    rows = later.list_hazards(org.admin, later.filter_for(unit="甲区", overdue=True))
    assert [r.number for r in rows] == [n] and rows[0].days_left == -1 and rows[0].overdue
    assert later.get(org.admin, n).version == 1  # nothing was written to make it overdue
    due = org.svc.list_hazards(org.admin, org.svc.filter_for(official="张三", due_within=2))
    assert [r.number for r in due] == [n]
    assert org.svc.list_hazards(org.admin, org.svc.filter_for(official="张三", due_within=1)) == []


def test_search_filters(org):
    a = org.item(description="液氨制冷车间泄漏报警装置失效", listed_supervision=True)
    b = org.item(description="西街道餐馆燃气管道老化", unit="西街道", responsible_official="赵六",
                 supervising_unit="乙区/应急管理局", level="重大")
    svc = org.svc
    numbers = lambda **kw: {r.number for r in svc.list_hazards(org.admin, svc.filter_for(**kw))}
    assert numbers(unit="示例市") == {a, b}
    assert numbers(unit="乙区") == {b}
    assert numbers(text="液氨 报警") == {a}
    assert numbers(level="重大") == {b}
    assert numbers(listed_supervision=True) == {a}
    assert numbers(supervising_unit="甲区/应急管理局") == {a}
    assert numbers(statuses=(Status.CLOSED,)) == set()


def test_major_hazard_flag_and_suggestions_are_not_attached(org):
    result = org.svc.create_hazard(org.admin, HazardInput(
        "井下采煤工作面瓦斯超限仍在作业", "某化工公司", "3个工作日"))
    assert result.major_flags and result.major_flags[0].article == "第三十六条"
    assert any(s.document == "煤矿安全生产条例" for s in result.suggestions)
    view = org.svc.get(org.admin, result.item.number)
    assert view.basis == [] and view.major_suspected
    plain = org.svc.create_hazard(org.admin, HazardInput("办公室插线板串接使用", "东街道", "3个工作日"))
    assert plain.major_flags == []
    s = result.suggestions[0]
    attached = org.svc.attach_basis(org.admin, result.item.number, s)
    assert [(b.document, b.article) for b in attached.basis] == [("煤矿安全生产条例", "第三十六条")]
    with pytest.raises(LedgerError, match="已添加过"):
        org.svc.attach_basis(org.admin, result.item.number, s)


@dataclass
class _Suggester:
    def suggest(self, description):
        from knowledge.ledger.basis import BasisSuggestion
        return [BasisSuggestion("安全生产法", "第四十一条", "生产经营单位应当建立健全…事故隐患排查治理制度", 0.8)]

    def duty_layers(self, description):
        from knowledge.ledger.basis import DutyLayer
        return [DutyLayer("企业", "生产经营单位主要负责人")]


def test_pluggable_suggester(org):
    svc = LedgerService(org.svc.sessions, org.svc.settings, clock=org.svc.clock, suggester=_Suggester())
    result = svc.create_hazard(org.admin, HazardInput("办公室插线板串接使用", "东街道", "3个工作日"))
    assert [s.article for s in result.suggestions] == ["第四十一条"]
    assert result.duty_layers[0].subject == "生产经营单位主要负责人"


def test_attachments(org, tmp_path):
    n = org.item()
    photo = tmp_path / "现场.png"
    photo.write_bytes(PNG)
    view = org.svc.update_progress(org.zhang, n, "已清理", [photo])
    stored = org.svc.settings.files_dir / view_attachment(org, n).stored_path
    assert stored.read_bytes() == PNG
    fake = tmp_path / "照片.jpg"
    fake.write_bytes(b"MZ\x90\x00 this is an executable")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4" + b"0" * (org.svc.settings.max_upload_bytes + 1))
    before = _counts(org)
    with pytest.raises(LedgerError, match="不是可接受的文件类型"):
        org.svc.update_progress(org.zhang, n, "再传", [photo, fake])
    with pytest.raises(LedgerError, match="超过上限"):
        org.svc.update_progress(org.zhang, n, "再传", [big])
    assert _counts(org) == before
    with org.svc.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Attachment)) == 1
    assert view.status == Status.IN_PROGRESS


def view_attachment(org: Org, n: str):
    (att,) = org.svc.get(org.admin, n).attachments
    return att


def test_every_write_is_audited(org, tmp_path):
    svc = org.svc
    photo = tmp_path / "p.png"
    photo.write_bytes(PNG)
    n = org.item()
    svc.update_progress(org.zhang, n, "进展", [photo])
    svc.request_extension(org.zhang, n, "3个工作日", "理由")
    svc.decide_extension(org.li, n, True)
    svc.assign(org.li, n, listed_supervision=True, note="列入挂牌督办")
    svc.edit(org.li, n, measures="清理并设置警示")
    svc.request_review(org.zhang, n, "完成")
    svc.review(org.li, n, True, "合格")
    svc.reopen(org.li, n, "反弹")
    with svc.sessions() as s:
        events = s.execute(select(HazardEvent.action).order_by(HazardEvent.id)).scalars().all()
        audits = s.execute(select(AuditLog.action).where(AuditLog.object_type == "hazard")
                           .order_by(AuditLog.id)).scalars().all()
        unit_audits = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.object_type == "unit"))
        official_audits = s.scalar(select(func.count()).select_from(AuditLog)
                                   .where(AuditLog.object_type == "official"))
    assert [f"hazard.{e}" for e in events] == [a for a in audits if a != "hazard.attachment"]
    assert audits.count("hazard.attachment") == 1
    assert unit_audits == 8 and official_audits == 5


def test_two_people_closing_at_once_one_wins(org):
    n = org.item()
    org.svc.request_review(org.zhang, n, "完成")
    barrier = threading.Barrier(2, timeout=20)
    local = threading.local()

    class RendezvousClock(FixedClock):
        def now(self) -> datetime:
            # Both closers have loaded the item (version N) before either writes.
            if getattr(local, "first", True):
                local.first = False
                barrier.wait()
            return super().now()

    clock = RendezvousClock(at=clock_on(date(2026, 3, 2)).at)
    outcomes: dict[str, object] = {}

    def close(name, actor):
        svc = LedgerService(org.svc.sessions, org.svc.settings, clock=clock, calendar=org.svc.calendar)
        try:
            outcomes[name] = svc.close(actor, n, f"{name}复查合格")
        except LedgerError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=close, args=(name, actor))
               for name, actor in (("李四", org.li), ("管理员", org.admin))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [o for o in outcomes.values() if isinstance(o, LedgerError)]
    assert len(outcomes) == 2 and len(errors) == 1
    assert isinstance(errors[0], ConcurrentChange) and "已被他人处理" in errors[0].message
    history = org.svc.get(org.admin, n).history
    assert [e.action for e in history].count("review_pass") == 1


def test_expected_version_guards_stale_screens(org):
    n = org.item()
    seen = org.svc.get(org.zhang, n).version
    org.svc.update_progress(org.zhang, n, "第一次进展", expected_version=seen)
    with pytest.raises(ConcurrentChange, match="已被他人更新"):
        org.svc.update_progress(org.zhang, n, "基于旧页面的进展", expected_version=seen)


def test_bind_codes(org):
    svc = org.svc
    code = svc.issue_bind_code(org.admin, "张三")
    with pytest.raises(PermissionDenied):
        svc.issue_bind_code(org.zhang, "张三")
    assert svc.actor_for_chat(777) is None
    view = svc.redeem_bind_code(code.lower(), 777)
    assert view.chat_linked and svc.actor_for_chat(777).name == "张三"
    with pytest.raises(LedgerError, match="绑定码无效"):
        svc.redeem_bind_code(code, 888)  # single use
    code2 = svc.issue_bind_code(org.admin, "赵六")
    with pytest.raises(LedgerError, match="已绑定人员“张三”"):
        svc.redeem_bind_code(code2, 777)
    code3 = svc.issue_bind_code(org.admin, "赵六")
    later = LedgerService(svc.sessions, svc.settings, clock=FixedClock(at=svc.clock.now() + timedelta(hours=25)))
    with pytest.raises(LedgerError, match="已过期"):
        later.redeem_bind_code(code3, 999)
    with svc.sessions() as s:
        details = s.execute(select(AuditLog.detail).where(AuditLog.action == "official.bind_code")).scalars().all()
    assert details and all(code not in str(d) for d in details)
    assert not svc.unlink_chat(org.admin, "张三").chat_linked
    assert svc.actor_for_chat(777) is None
    with pytest.raises(LedgerError, match="没有绑定"):
        svc.unlink_chat(org.admin, "张三")


def test_text_search_treats_wildcards_literally(org):
    a = org.item(description="储罐液位计显示100%满罐")
    org.item(description="配电箱无防护罩")
    svc = org.svc
    assert [r.number for r in svc.list_hazards(org.admin, svc.filter_for(text="100%"))] == [a]
    assert svc.list_hazards(org.admin, svc.filter_for(text="_")) == []
    assert [r.number for r in svc.list_hazards(org.admin, svc.filter_for(text=a.lower()))] == [a]


def test_statistics_and_ranking(org):
    # 甲区 (via 东街道): one closed on time, one closed late, one open and overdue.
    on_time = org.item(deadline="2026-03-05")
    late = org.item(description="配电箱门未关闭且无警示标志", deadline="2026-03-03")
    org.item(description="消防通道被车辆占用", deadline="2026-03-06")  # stays open, overdue
    # 乙区: one open, not yet due.
    org.item(unit="西街道", responsible_official="赵六", supervising_unit="乙区/应急管理局", deadline="2026-03-31")
    for n in (on_time, late):
        org.svc.request_review(org.admin, n, "完成")
    org.at(date(2026, 3, 4)).close(org.admin, on_time, "合格")
    org.at(date(2026, 3, 6)).close(org.admin, late, "合格")
    svc = org.at(date(2026, 3, 20))
    report = svc.stats(org.admin, "示例市", *svc.period("2026-03"))
    rows = {r.unit: r for r in report.rows}
    jia, yi = rows["甲区"], rows["乙区"]
    assert (jia.total, jia.closed, jia.closed_on_time, jia.closed_late, jia.open, jia.overdue) == (3, 2, 1, 1, 1, 1)
    assert jia.rectification_rate == pytest.approx(2 / 3) and jia.overdue_rate == pytest.approx(2 / 3)
    assert jia.avg_days_to_close == pytest.approx(3.0)  # (2 + 4) / 2
    assert (yi.total, yi.open, yi.overdue, yi.rectification_rate) == (1, 1, 0, 0.0)
    assert [r.unit for r in report.rows][:2] == ["甲区", "乙区"] and jia.rank == 1
    assert report.total.total == 4
    # The same period seen on 2026-03-05: the late one was still open then, nothing overdue yet but it.
    early = org.at(date(2026, 3, 5)).stats(org.admin, "甲区", *svc.period("2026-03"))
    assert early.total.closed == 1 and early.total.overdue == 1
    assert org.svc.stats(org.admin, None, *svc.period("2026-02")).total.total == 0
    with pytest.raises(LedgerError, match="月份应在1到12之间"):
        svc.period("2026-13")


def test_units_and_officials_from_spreadsheets(org, tmp_path):
    units = tmp_path / "units.csv"
    units.write_bytes("单位名称,上级单位,类型,编码\n南街道,甲区,乡镇街道,NJD\n某物流公司,南街道,企业,\n".encode("gbk"))
    created = org.svc.import_units(org.admin, units)
    assert [u.full_name for u in created] == ["示例市/甲区/南街道", "示例市/甲区/南街道/某物流公司"]
    people = tmp_path / "people.csv"
    people.write_text("姓名,所在单位,角色,电话\n周九,NJD,责任人,13800000000\n吴十,无此单位,official,\n", "utf-8")
    with pytest.raises(LedgerError) as err:
        org.svc.import_officials(org.admin, people)
    assert "第3行" in err.value.message and "无此单位" in err.value.message
    assert [o.name for o in org.svc.list_officials(org.admin, "南街道")] == []  # all or nothing
    people.write_text("姓名,所在单位,角色,电话\n周九,NJD,责任人,13800000000\n", "utf-8")
    (zhou,) = org.svc.import_officials(org.admin, people)
    assert (zhou.unit_name, zhou.role, zhou.phone) == ("南街道", "official", "13800000000")
    with pytest.raises(PermissionDenied):
        org.svc.import_units(org.zhang, units)


def test_admin_supplied_holiday_file_is_used(sessions, settings):
    (settings.data_dir / "ledger").mkdir(parents=True)
    (settings.data_dir / "ledger" / "holidays.json").write_text(
        '{"2027": {"holidays": [["2027-01-01", "2027-01-01", "元旦"]], "workdays": []}}', "utf-8")
    svc = LedgerService(sessions, settings, clock=clock_on(date(2026, 12, 31)))
    assert svc.calendar.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
