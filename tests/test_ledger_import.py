"""Importing and exporting ledgers: heading mapping, merged cells, blank rows, encodings,
row-numbered problems, all-or-nothing, idempotent re-import; the printable export."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from ledger_support import Org, build_org
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from knowledge.ledger import LedgerError
from knowledge.ledger.exporter import write_ledger
from knowledge.ledger.importer import write_template
from knowledge.ledger.models import Hazard, HazardEvent, Status
from knowledge.models import AuditLog

HEAD = ["序号", "隐患描述", "所在单位", "隐患等级", "整改责任单位", "责任人", "整改措施", "整改时限", "督办单位", "整改状态"]


@pytest.fixture
def org(sessions, settings) -> Org:
    return build_org(sessions, settings)


def _xlsx(path: Path, rows: list[list], title: str | None = "2026年3月隐患整改台账", merges: tuple[str, ...] = ()) -> Path:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEAD))
    ws.append(HEAD)
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    wb.save(path)
    return path


def _row(seq, desc, unit="东街道", deadline="10个工作日", **kw):
    values = {"level": "一般", "resp": "", "official": "张三", "measures": "清理", "sup": "甲区/应急管理局",
              "status": "待整改", **kw}
    return [seq, desc, unit, values["level"], values["resp"], values["official"], values["measures"], deadline,
            values["sup"], values["status"]]


def _hazards(org: Org) -> int:
    with org.svc.sessions() as s:
        return s.scalar(select(func.count()).select_from(Hazard))


def test_import_with_merged_cells_blank_rows_and_reimport(org, tmp_path):
    rows = [
        _row(1, "仓库安全出口被货物堵塞", deadline="2026-03-20"),
        _row(2, "配电箱无防护罩", unit=None, deadline=datetime(2026, 3, 25)),  # unit merged from the row above
        [None] * len(HEAD),
        _row(3, "西街道餐馆燃气软管老化", unit="西街道", official="赵六", sup="乙区/应急管理局", status="整改中"),
        [None] * len(HEAD),
        [None] * len(HEAD),
    ]
    path = _xlsx(tmp_path / "台账.xlsx", rows, merges=("C3:C4",))
    report = org.svc.import_hazards(org.admin, path)
    assert report.ok and len(report.created) == 3 and report.rows_read == 3
    views = [org.svc.get(org.admin, n) for n in report.created]
    assert [v.unit for v in views] == ["东街道", "东街道", "西街道"]
    assert views[1].deadline == date(2026, 3, 25)
    assert views[2].status == Status.IN_PROGRESS and views[2].responsible_official == "赵六"
    assert views[0].deadline == date(2026, 3, 20)
    again = org.svc.import_hazards(org.admin, path)
    assert again.created == [] and len(again.skipped) == 3
    assert _hazards(org) == 3
    with org.svc.sessions() as s:
        assert s.scalar(select(func.count()).select_from(HazardEvent).where(HazardEvent.action == "import")) == 3
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "hazard.import")) == 2


def test_every_bad_row_is_reported_and_nothing_is_imported(org, tmp_path):
    rows = [
        _row(1, "仓库安全出口被货物堵塞"),
        _row(2, "配电箱无防护罩", unit="火星街道"),
        _row(3, "灭火器过期未更换", official="查无此人"),
        _row(4, "消防通道被车辆占用", deadline="2026/13/01"),
        _row(5, "疏散指示标志损坏", deadline="下周五"),
        _row(5, "应急照明不亮"),
        _row(7, "燃气报警器未安装", level="特别重大"),
        _row(8, "", deadline="5个工作日"),
        _row(9, "电缆沟积水", status="不知道"),
        _row(10, "仓库安全出口被货物堵塞"),
    ]
    report = org.svc.import_hazards(org.admin, _xlsx(tmp_path / "bad.xlsx", rows))
    problems = {p.row: p.message for p in report.problems}
    assert "火星街道" in problems[4]
    assert "查无此人" in problems[5]
    assert "月份应在1到12之间" in problems[6]
    assert "无法识别" in problems[7]
    assert "序号5与第7行重复" in problems[8]
    assert "隐患等级" in problems[9]
    assert "隐患描述" in problems[10]
    assert "整改状态" in problems[11]
    assert "与第3行是同一条隐患" in problems[12]
    assert 3 not in problems
    assert report.created == [] and _hazards(org) == 0


def test_duplicate_numbers_and_template_round_trip(org, tmp_path):
    template = write_template(tmp_path / "模板.xlsx")
    wb = load_workbook(template)
    ws = wb["隐患台账"]
    headings = [c.value for c in ws[1]]
    assert {"隐患编号", "隐患描述", "所在单位", "整改时限", "整改状态"} <= set(headings)
    assert "填写说明" in wb.sheetnames
    col = {h: i for i, h in enumerate(headings)}

    def put(r: int, **values: object) -> None:
        for key, value in values.items():
            ws.cell(row=r, column=col[key] + 1, value=value)

    put(2, 序号=1, 隐患编号="YH-2026-0100", 所在单位="东街道", 整改时限="2026-03-31")
    put(3, 序号=2, 隐患编号="YH-2026-0100", 隐患描述="消防水泵无法启动", 所在单位="东街道", 整改时限="5个工作日")
    wb.save(template)
    report = org.svc.import_hazards(org.admin, template)
    assert [(p.row, "隐患编号YH-2026-0100与第2行重复" in p.message) for p in report.problems] == [(3, True)]
    put(3, 隐患编号="YH-2026-0101")
    wb.save(template)
    report = org.svc.import_hazards(org.admin, template)
    assert report.ok and report.created == ["YH-2026-0100", "YH-2026-0101"]
    # The counter moved past imported numbers in our own format.
    assert org.item() == "YH-2026-0102"


def test_csv_in_gbk_and_bad_encodings(org, tmp_path):
    lines = [",".join(HEAD), ",".join(str(v or "") for v in _row(1, "仓库安全出口被货物堵塞", sup=""))]
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("\r\n".join(lines).encode("gbk"))
    assert len(org.svc.import_hazards(org.admin, gbk).created) == 1
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("\r\n".join(lines).encode("utf-16"))
    with pytest.raises(LedgerError, match="编码无法识别"):
        org.svc.import_hazards(org.admin, utf16)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"\xff\xff\xff,abc\r\n")
    with pytest.raises(LedgerError, match="编码无法识别"):
        org.svc.import_hazards(org.admin, latin)
    assert _hazards(org) == 1


def test_unusable_files(org, tmp_path):
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    with pytest.raises(LedgerError, match="另存为 .xlsx"):
        org.svc.import_hazards(org.admin, old)
    with pytest.raises(LedgerError, match="找不到文件"):
        org.svc.import_hazards(org.admin, tmp_path / "nothing.xlsx")
    no_header = tmp_path / "noheader.csv"
    no_header.write_text("a,b,c\n1,2,3\n", "utf-8")
    with pytest.raises(LedgerError, match="没有找到表头"):
        org.svc.import_hazards(org.admin, no_header)
    missing = tmp_path / "missing.csv"
    missing.write_text("序号,隐患描述,所在单位\n1,仓库堵塞,东街道\n", "utf-8")
    with pytest.raises(LedgerError, match="缺少必需的列：整改时限"):
        org.svc.import_hazards(org.admin, missing)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(LedgerError, match="无法打开表格"):
        org.svc.import_hazards(org.admin, broken)


def test_closed_rows_and_historic_deadlines(org, tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(
        "隐患描述,所在单位,发现日期,整改时限,整改状态,销号日期\n"
        "仓库安全出口被货物堵塞,东街道,2026-01-05,2026-01-20,已整改,2026-01-18\n"
        "消防通道被车辆占用,东街道,2026-02-02,5个工作日,未整改,\n"
        "配电箱无防护罩,东街道,2026-02-02,2026-01-01,未整改,\n", "utf-8")
    report = org.svc.import_hazards(org.admin, path)
    assert [p.row for p in report.problems] == [4] and "早于发现日期" in report.problems[0].message
    path.write_text("\n".join(path.read_text("utf-8").splitlines()[:3]) + "\n", "utf-8")
    report = org.svc.import_hazards(org.admin, path)
    closed, open_ = (org.svc.get(org.admin, n) for n in report.created)
    assert closed.status == Status.CLOSED and closed.closed_on == date(2026, 1, 18)
    # 5 working days from 2026-02-02 (Monday): Feb 3..6 and Feb 9.
    assert open_.deadline == date(2026, 2, 9) and open_.overdue


def test_permission_applies_to_import(org, tmp_path):
    path = _xlsx(tmp_path / "x.xlsx", [_row(1, "仓库安全出口被货物堵塞", unit="西街道", official="赵六",
                                            sup="乙区/应急管理局")])
    report = org.svc.import_hazards(org.zhang, path)
    assert report.problems and "只能登记本单位" in report.problems[0].message
    with pytest.raises(LedgerError, match="只读"):
        org.svc.import_hazards(org.sun, path)
    assert _hazards(org) == 0


def test_export_is_printable(org, tmp_path):
    a = org.item(deadline="2026-03-03")
    org.item(description="消防通道被车辆占用", unit="西街道", responsible_official="赵六",
             supervising_unit="乙区/应急管理局")
    later = org.at(date(2026, 3, 10))
    rows = later.export_rows(org.admin, later.filter_for(unit="甲区"))
    assert [r["number"] for r in rows] == [a] and rows[0]["status"] == "待整改（逾期）"
    path = write_ledger(tmp_path / "out.xlsx", rows, "甲区安全生产隐患整改台账", "截至 2026年03月10日")
    ws = load_workbook(path).active
    assert ws["A1"].value == "甲区安全生产隐患整改台账" and "A1:N1" in {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[3]][:4] == ["序号", "隐患编号", "所在单位", "隐患描述"]
    assert ws["B4"].value == a and ws["D4"].alignment.wrap_text
    assert ws["D4"].border.left.style == "thin"
    assert ws.freeze_panes == "A4"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.column_dimensions["D"].width >= 30
    assert ws.print_title_rows == "$3:$3"
