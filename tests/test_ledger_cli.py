"""The `safetybot units|officials|hazards` commands through click's CliRunner on a temp data dir."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bot.cli import main


@pytest.fixture
def cli(settings, tmp_path):
    env = {
        "SAFETYBOT_DATA_DIR": str(tmp_path / "data"),
        "SAFETYBOT_DATABASE_URL": settings.database_url,
        "SAFETYBOT_LOAD_BUNDLED": "false",
    }
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    run("units", "add", "示例市", "--kind", "市")
    run("units", "add", "甲区", "--kind", "县区", "--parent", "示例市")
    run("units", "add", "东街道", "--kind", "乡镇街道", "--parent", "甲区")
    run("units", "add", "应急管理局", "--kind", "部门", "--parent", "甲区")
    run("officials", "add", "张三", "--unit", "东街道")
    run("officials", "add", "李四", "--unit", "甲区/应急管理局", "--role", "supervisor")
    return run


def _json(result) -> object:
    return json.loads(result.stdout)


def test_units_and_officials(cli):
    units = _json(cli("units", "list", "--format", "json"))
    assert [u["full_name"] for u in units] == ["示例市", "示例市/甲区", "示例市/甲区/东街道", "示例市/甲区/应急管理局"]
    assert "  #3 东街道" in cli("units", "list").stdout
    people = _json(cli("officials", "list", "--unit", "甲区", "--format", "json"))
    assert [(p["name"], p["role"]) for p in people] == [("张三", "official"), ("李四", "supervisor")]
    dup = cli("units", "add", "东街道", "--parent", "甲区", ok=False)
    assert "已有名为“东街道”的单位" in dup.stderr
    code = _json(cli("officials", "bind-code", "张三", "--format", "json"))["code"]
    assert len(code) == 8
    assert "已解除 张三 的聊天账号绑定" in cli("officials", "unbind", "张三").stdout
    assert "没有绑定" in cli("officials", "unbind", "张三", ok=False).stderr
    assert "未找到单位" in cli("officials", "add", "王五", "--unit", "无此单位", ok=False).stderr
    denied = cli("hazards", "--as", "张三", "list")  # reading is allowed
    assert "没有符合条件的隐患" in denied.stdout


def test_hazard_lifecycle_and_permissions(cli):
    made = _json(cli("hazards", "add", "-d", "仓库安全出口被货物堵塞", "--unit", "东街道", "--deadline", "30天",
                     "--official", "张三", "--supervising-unit", "甲区/应急管理局", "--format", "json"))
    number = made["item"]["number"]
    assert made["major_flags"] and made["suggestions"]  # blocked exits look like a 重大火灾隐患
    assert number.startswith("YH-")
    listed = _json(cli("hazards", "list", "--unit", "示例市", "--open", "--format", "json"))
    assert listed["total"] == 1 and listed["items"][0]["number"] == number
    refused = cli("hazards", "--as", "张三", "close", number, "--note", "自己销号", ok=False)
    assert refused.stderr.startswith("错误：") and "督办单位或管理员" in refused.stderr
    cli("hazards", "--as", "张三", "update", number, "--note", "已清理一半")
    ext = _json(cli("hazards", "--as", "张三", "extend", number, "--to", "10天", "--reason", "货物多",
                    "--format", "json"))
    cli("hazards", "--as", "李四", "extend", number, "--approve")
    cli("hazards", "--as", "张三", "review", number, "--request", "--note", "已全部清理")
    wrong = cli("hazards", "--as", "张三", "review", number, "--request", "--note", "再申请", ok=False)
    assert "当前状态为“待复查”" in wrong.stderr
    closed = _json(cli("hazards", "--as", "李四", "close", number, "--note", "复查合格", "--format", "json"))
    assert closed["status"] == "已销号" and closed["deadline"] == ext["new_deadline"]
    shown = _json(cli("hazards", "show", number, "--format", "json"))
    assert [e["action"] for e in shown["history"]] == [
        "create", "progress", "request_extension", "decide_extension", "request_review", "review_pass"]
    text = cli("hazards", "show", number).stdout
    assert "处理记录" in text and "复查通过并销号 待复查→已销号：复查合格" in text
    cli("hazards", "reopen", number, "--reason", "回头看发现反弹")
    assert _json(cli("hazards", "show", number, "--format", "json"))["status"] == "整改中"


@pytest.mark.parametrize("deadline,fragment", [
    ("下周五", "无法识别"), ("2026/13/01", "月份应在1到12之间"), ("2020-01-01", "早于今天"),
])
def test_bad_deadlines(cli, deadline, fragment):
    result = cli("hazards", "add", "-d", "配电箱无防护罩", "--unit", "东街道", "--deadline", deadline, ok=False)
    assert fragment in result.stderr
    assert _json(cli("hazards", "list", "--format", "json"))["total"] == 0


def test_template_import_export_stats(cli, tmp_path: Path):
    template = tmp_path / "模板.xlsx"
    cli("hazards", "template", str(template))
    wb = load_workbook(template)
    ws = wb.active
    col = {c.value: c.column for c in ws[1]}
    ws.cell(row=2, column=col["所在单位"], value="东街道")
    ws.cell(row=2, column=col["整改时限"], value="30天")
    ws.cell(row=2, column=col["发现日期"], value=None)
    ws.cell(row=3, column=col["隐患描述"], value="消防通道被车辆占用")
    ws.cell(row=3, column=col["所在单位"], value="无此单位")
    ws.cell(row=3, column=col["整改时限"], value="30天")
    wb.save(template)
    bad = cli("hazards", "import", str(template), ok=False)
    assert "第3行" in bad.stdout and "无此单位" in bad.stdout and "未导入任何数据" in bad.stdout
    ws.cell(row=3, column=col["所在单位"], value="东街道")
    wb.save(template)
    dry = _json(cli("hazards", "import", str(template), "--dry-run", "--format", "json"))
    assert dry["ok"] and dry["created"] == []
    done = _json(cli("hazards", "import", str(template), "--format", "json"))
    assert len(done["created"]) == 2
    assert "跳过已存在的 2 条" in cli("hazards", "import", str(template)).stdout
    out = tmp_path / "台账.xlsx"
    exported = _json(cli("hazards", "export", str(out), "--unit", "甲区", "--format", "json"))
    assert exported["rows"] == 2 and load_workbook(out).active["A1"].value == "甲区安全生产隐患整改台账"
    chart = tmp_path / "rank.png"
    stats = _json(cli("hazards", "stats", "--unit", "示例市", "--period", "all", "--chart", str(chart),
                      "--format", "json"))
    assert stats["total"]["total"] == 2 and stats["rows"][0]["unit"] == "甲区"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = cli("hazards", "stats", "--unit", "示例市", "--period", "all").stdout
    assert "整改率" in table and "甲区" in table
    default = _json(cli("hazards", "stats", "--period", "all", "--format", "json"))
    assert default["unit"] == "示例市" and default["rows"][0]["unit"] == "甲区"
    assert "无法识别的统计期间" in cli("hazards", "stats", "--period", "下个月", ok=False).stderr


def test_evidence_upload_and_refusals(cli, tmp_path: Path):
    number = _json(cli("hazards", "add", "-d", "配电箱无防护罩", "--unit", "东街道", "--deadline", "30天",
                       "--official", "张三", "--format", "json"))["item"]["number"]
    photo = tmp_path / "整改后.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 100)
    cli("hazards", "--as", "张三", "update", number, "--note", "已加装防护罩", "--file", str(photo))
    shown = _json(cli("hazards", "show", number, "--format", "json"))
    assert [a["filename"] for a in shown["attachments"]] == ["整改后.png"] and shown["status"] == "整改中"
    script = tmp_path / "evil.jpg"
    script.write_bytes(b"#!/bin/sh\nrm -rf /\n")
    bad = cli("hazards", "--as", "张三", "update", number, "--note", "再传", "--file", str(script), ok=False)
    assert "不是可接受的文件类型" in bad.stderr
    mixed = cli("hazards", "update", number, "--file", str(photo), "--level", "重大", ok=False)
    assert "分开执行" in mixed.stderr
    stale = cli("hazards", "update", number, "--note", "旧页面", "--version", "1", ok=False)
    assert "已被他人更新" in stale.stderr
    assert "未找到人员" in cli("hazards", "--as", "无名氏", "list", ok=False).stderr
    assert len(_json(cli("hazards", "show", number, "--format", "json"))["history"]) == 2
