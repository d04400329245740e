"""Loading rule files: YAML/CSV/XLSX, all-or-nothing validation with row numbers, history and audit."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.duties.loader import COLUMNS, RulesFileError
from knowledge.duties.models import DutyRule, DutyRuleHistory
from knowledge.duties.repository import remove_rule, rule_history
from knowledge.duties.service import load_rules_file
from knowledge.duties.template import write_template
from knowledge.models import AuditLog

pytest_plugins = ["duties_fixtures"]  # fixture ingest_some_laws

LAWS = {"安全生产法", "消防法", "山东省消防条例"}

GOOD_YAML = """\
topics:
  - topic: 电焊作业
    aliases: [电焊, 焊接]
    rules:
      - id: t.weld.unit
        layer: 企业主体责任
        party: 生产经营单位
        duty: 动火作业安排专门人员现场安全管理。
        basis:
          - {document: 安全生产法, article: 第43条, evidence: 应当安排专门人员进行现场安全管理}
      - id: t.weld.fire
        layer: 部门
        party: 消防救援机构
        duty: 依法监督检查。
        basis:
          - {document: 《中华人民共和国消防法》, article: "53"}
"""


@pytest.fixture
def kb(sessions: sessionmaker[Session], ingest_some_laws) -> sessionmaker[Session]:
    ingest_some_laws(sessions, LAWS)
    return sessions


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as s:
        return s.query(DutyRule).count(), s.query(DutyRuleHistory).count(), s.query(AuditLog).filter(
            AuditLog.object_type == "duty_rule").count()


def _errors(sessions, path: Path) -> list[str]:
    with pytest.raises(RulesFileError) as info:
        load_rules_file(sessions, path, actor="admin")
    return [str(e) for e in info.value.errors]


def test_yaml_load_normalises_and_upserts_with_history(kb, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD_YAML, encoding="utf-8")
    result = load_rules_file(kb, path, actor="admin")
    assert sorted(result.added) == ["t.weld.fire", "t.weld.unit"]
    with kb() as s:
        fire = s.get(DutyRule, "t.weld.fire")
        assert fire.layer == "部门监管责任"
        assert fire.basis == [{"document": "消防法", "article": "第五十三条", "evidence": None}]
        unit = s.get(DutyRule, "t.weld.unit")
        assert unit.basis[0]["article"] == "第四十三条" and unit.aliases == ["电焊", "焊接"]
        assert unit.source == "rules.yaml" and unit.updated_by == "admin"

    again = load_rules_file(kb, path, actor="admin")
    assert again.unchanged == ["t.weld.unit", "t.weld.fire"] and not again.added and not again.updated

    path.write_text(GOOD_YAML.replace("依法监督检查。", "依法监督检查，查处违法行为。"), encoding="utf-8")
    changed = load_rules_file(kb, path, actor="admin2")
    assert changed.updated == ["t.weld.fire"]
    with kb() as s:
        assert s.get(DutyRule, "t.weld.fire").version == 2
        history = rule_history(s, "t.weld.fire")
        assert [(h.version, h.change, h.data["duty"]) for h in history] == [(1, "update", "依法监督检查。")]
        actions = [a.action for a in s.query(AuditLog).order_by(AuditLog.id)]
        assert actions.count("duty_rule.add") == 2 and actions.count("duty_rule.update") == 1
        assert actions.count("duty_rules.load") == 3
        update = s.query(AuditLog).filter(AuditLog.action == "duty_rule.update").one()
        assert update.actor == "admin2" and update.detail["changed"] == ["duty"]

    with transaction(kb) as s:
        assert remove_rule(s, "t.weld.fire", actor="admin")
    with kb() as s:
        assert s.get(DutyRule, "t.weld.fire") is None
        assert [h.change for h in rule_history(s, "t.weld.fire")] == ["update", "remove"]
        assert s.query(AuditLog).filter(AuditLog.action == "duty_rule.remove").one().actor == "admin"


BROKEN_YAML = """\
rules:
  - id: ok.1
    topic: 电焊
    layer: 企业主体责任
    party: 生产经营单位
    duty: 安排专人。
    basis: [{document: 安全生产法, article: 第四十三条}]
  - id: bad.layer
    topic: 电焊
    layer: 街道责任
    party: 生产经营单位
    duty: 某职责。
    basis: [{document: 安全生产法, article: 第四十三条}]
  - id: bad.party
    topic: 电焊
    layer: 企业主体责任
    party: ""
    duty: 某职责。
    basis: [{document: 安全生产法, article: 第四十三条}]
  - id: bad.article
    topic: 电焊
    layer: 企业主体责任
    party: 生产经营单位
    duty: 某职责。
    basis: [{document: 安全生产法, article: 第九百条}]
  - id: bad.document
    topic: 电焊
    layer: 企业主体责任
    party: 生产经营单位
    duty: 某职责。
    basis: [{document: 火星安全法, article: 第一条}]
  - id: bad.evidence
    topic: 电焊
    layer: 企业主体责任
    party: 生产经营单位
    duty: 某职责。
    basis: [{document: 安全生产法, article: 第四十三条, evidence: 这句话不在条文里}]
  - id: ok.1
    topic: 电焊
    layer: 企业主体责任
    party: 另一单位
    duty: 重复编号。
    basis: [{document: 安全生产法, article: 第四十三条}]
  - id: bad.local
    topic: 小场所
    layer: 部门监管责任
    party: 公安派出所
    duty: 日常消防监督检查。
    basis: [{document: 山东省消防条例, article: 第五十八条}]
"""


def test_broken_yaml_is_rejected_whole_with_row_numbers(kb, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN_YAML, encoding="utf-8")
    errors = _errors(kb, path)
    text = "\n".join(errors)
    assert "第8行" in text and "层级“街道责任”无法识别" in text
    assert "第14行" in text and "责任主体(party)：不能为空" in text
    assert "第20行" in text and "《安全生产法》第九百条在知识库中不存在" in text
    assert "第26行" in text and "《火星安全法》不在知识库中" in text
    assert "第32行" in text and "未在《安全生产法》第四十三条中找到" in text
    assert "第38行" in text and "编号“ok.1”与第2行重复" in text
    assert "第44行" in text and "适用地区应填写“山东省”" in text
    assert len(errors) == 7
    assert [e.split("：")[0] for e in errors] == ["第8行", "第14行", "第20行", "第26行", "第32行", "第38行", "第44行"]
    assert _counts(kb) == (0, 0, 0)  # nothing half-loaded, nothing audited


def test_malformed_yaml_and_unsupported_files(kb, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    topic: [unclosed\n", encoding="utf-8")
    assert "YAML 格式错误" in _errors(kb, bad)[0]
    txt = tmp_path / "rules.txt"
    txt.write_text("x", encoding="utf-8")
    assert "不支持的文件类型" in _errors(kb, txt)[0]
    assert "找不到文件" in _errors(kb, tmp_path / "missing.csv")[0]
    empty = tmp_path / "empty.yaml"
    empty.write_text("rules: []\n", encoding="utf-8")
    assert "没有任何规则" in _errors(kb, empty)[0]


def _csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header or list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _row(i: int, **overrides: str) -> dict[str, str]:
    row = {
        "id": f"bulk.{i}", "topic": f"主题{i % 50}", "aliases": "别名甲|别名乙", "keywords": "",
        "layer": "企业主体责任", "party": "生产经营单位", "duty": f"第{i}条测试职责。",
        "basis": "《安全生产法》第四十三条|《消防法》第二十一条",
        "evidence": "应当安排专门人员进行现场安全管理|必须持证上岗", "law_wording": "", "jurisdiction": "全国", "note": "",
    }
    row.update(overrides)
    return row


def test_gbk_csv_with_chinese_headers_loads(kb, tmp_path):
    header = ["编号", "主题", "层级", "责任主体", "职责", "依据", "原文摘录", "适用地区"]
    rows = [{"编号": "gbk.1", "主题": "电焊作业", "层级": "企业", "责任主体": "生产经营单位", "职责": "安排专人现场管理; 落实安全措施。",
             "依据": "安全生产法第43条", "原文摘录": "专门人员进行现场安全管理", "适用地区": ""}]
    path = tmp_path / "rules_gbk.csv"
    path.write_bytes(_csv_text(rows, header).encode("gbk"))
    result = load_rules_file(kb, path, actor="admin")
    assert result.added == ["gbk.1"]
    with kb() as s:
        rule = s.get(DutyRule, "gbk.1")
        assert (rule.topic, rule.layer, rule.jurisdiction) == ("电焊作业", "企业主体责任", "全国")
        assert rule.duty == "安排专人现场管理; 落实安全措施。"
        assert rule.basis == [{"document": "安全生产法", "article": "第四十三条", "evidence": "专门人员进行现场安全管理"}]


def test_csv_row_errors_name_the_spreadsheet_row(kb, tmp_path):
    rows = [_row(1), _row(2, layer="未知层级"), _row(3, basis="没有条号的依据"), _row(4, evidence="只有一段")]
    path = tmp_path / "rules.csv"
    path.write_text(_csv_text(rows), encoding="utf-8-sig")
    errors = _errors(kb, path)
    assert any(e.startswith("第3行") and "层级" in e for e in errors)
    assert any(e.startswith("第4行") and "依据" in e for e in errors)
    assert any(e.startswith("第5行") and "数量应一致" in e for e in errors)
    assert not any(e.startswith("第2行") for e in errors)
    assert _counts(kb) == (0, 0, 0)


def test_xlsx_template_round_trip(kb, tmp_path):
    path = write_template(tmp_path / "template.xlsx")
    wb = load_workbook(path)
    assert [c.value for c in wb.worksheets[0][1]] == list(COLUMNS)
    assert "说明" in wb.sheetnames
    result = load_rules_file(kb, path, actor="admin")
    assert len(result.added) == 3
    with kb() as s:
        local = s.get(DutyRule, "local.small-venue.sd")
        assert local.jurisdiction == "山东省" and local.law_wording == "公安机关消防机构"


def _xlsx(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_with_extra_or_missing_columns_is_rejected(kb, tmp_path):
    good = _row(1)
    extra = _xlsx(tmp_path / "extra.xlsx", [*COLUMNS, "负责人电话"], [[good[c] for c in COLUMNS] + ["123"]])
    errors = _errors(kb, extra)
    assert len(errors) == 1 and "未知列：负责人电话" in errors[0] and errors[0].startswith("第1行")

    cols = [c for c in COLUMNS if c not in ("party", "basis")]
    missing = _xlsx(tmp_path / "missing.xlsx", cols, [[good[c] for c in cols]])
    errors = _errors(kb, missing)
    assert len(errors) == 1 and "缺少必需列：party、basis" in errors[0]

    overflow = _xlsx(tmp_path / "overflow.xlsx", list(COLUMNS), [[good[c] for c in COLUMNS] + ["多出来的值"]])
    errors = _errors(kb, overflow)
    assert errors == ["第2行：该行的单元格多于表头的列数"]

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    assert "无法读取 XLSX" in _errors(kb, broken)[0]
    assert _counts(kb) == (0, 0, 0)


def test_five_thousand_rows_all_or_nothing(kb, tmp_path):
    rows = [_row(i) for i in range(5000)]
    bad = tmp_path / "bulk_bad.csv"
    broken = list(rows)
    broken[4320] = _row(4320, basis="《安全生产法》第九百九十九条", evidence="")
    broken[4999] = _row(4999, party="")
    bad.write_text(_csv_text(broken), encoding="utf-8")
    errors = _errors(kb, bad)
    assert len(errors) == 2
    assert errors[0].startswith("第4322行") and "第九百九十九条在知识库中不存在" in errors[0]
    assert errors[1].startswith("第5001行") and "责任主体" in errors[1]
    assert _counts(kb) == (0, 0, 0)

    good = tmp_path / "bulk.csv"
    good.write_text(_csv_text(rows), encoding="utf-8")
    started = time.perf_counter()
    result = load_rules_file(kb, good, actor="admin")
    elapsed = time.perf_counter() - started
    assert len(result.added) == 5000
    assert _counts(kb) == (5000, 0, 5001)  # one audit entry per rule plus one for the file
    assert elapsed < 60, elapsed
