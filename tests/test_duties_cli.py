"""`safetybot duties …` and `safetybot who …` end to end through click, on a real database."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from knowledge.config import Settings

pytest_plugins = ["duties_fixtures"]  # fixture kb_sessions


@pytest.fixture
def cli(settings: Settings, kb_sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run the CLI against the test database (bundled laws ingested, rules not yet loaded)."""
    monkeypatch.chdir(tmp_path)
    env = {"SAFETYBOT_DATABASE_URL": settings.db_url, "SAFETYBOT_DATA_DIR": str(settings.data_dir),
           "SAFETYBOT_LOAD_BUNDLED": "false", "SAFETYBOT_JURISDICTION": ""}
    runner = CliRunner()

    def run(*args: str, jurisdiction: str = "", input: str | None = None):
        return runner.invoke(main, list(args), env={**env, "SAFETYBOT_JURISDICTION": jurisdiction}, input=input)

    return run


def test_sync_list_show_remove(cli):
    out = cli("duties", "sync")
    assert out.exit_code == 0 and "新增" in out.output
    assert "新增 0 条" in cli("duties", "sync").output

    listing = cli("duties", "list", "--topic", "九小场所", "--format", "json")
    rules = json.loads(listing.output)
    assert {r["id"] for r in rules} >= {"small-venue.police", "small-venue.sd-police"}
    assert "公安派出所" in cli("duties", "list", "--layer", "部门").output
    assert "无法识别" in cli("duties", "list", "--layer", "银河").output

    shown = cli("duties", "show", "small-venue.sd-police")
    assert "法条原称“公安机关消防机构”" in shown.output and "山东省" in shown.output

    assert "已取消" in cli("duties", "remove", "small-venue.police", input="n\n").output
    removed = cli("duties", "remove", "small-venue.police", "--yes")
    assert removed.exit_code == 0 and "已删除" in removed.output
    after = cli("duties", "show", "small-venue.police")
    assert "已删除" in after.output and "第 1 版 删除" in after.output
    missing = cli("duties", "remove", "no.such.rule", "--yes")
    assert missing.exit_code == 1 and "没有编号" in missing.output


def test_who_text_json_and_jurisdiction(cli):
    cli("duties", "sync")
    text = cli("who", "电焊作业")
    assert text.exit_code == 0
    assert "▌企业主体责任" in text.output and "《安全生产法》第四十三条" in text.output
    assert "职责交叉" in text.output and "［北京市地方规定］" in text.output

    data = json.loads(cli("who", "電焊作業", "--format", "json").output)
    assert data["topic"] == "电焊/气焊/动火作业"
    assert {"layer", "party", "duty", "basis", "jurisdiction"} <= data["duties"][0].keys()
    assert data["overlaps"]

    sd = json.loads(cli("who", "电焊作业", "--format", "json", jurisdiction="山东省").output)
    assert {d["jurisdiction"] for d in sd["duties"]} == {"全国", "山东省"}

    assert cli("who", "   ").exit_code == 1


def test_load_errors_and_template(cli, tmp_path):
    made = cli("duties", "template", "t.xlsx")
    assert made.exit_code == 0 and (tmp_path / "t.xlsx").exists()
    loaded = cli("duties", "load", "t.xlsx", "--format", "json")
    assert json.loads(loaded.output)["added"] == ["local.hotwork.unit", "local.hotwork.fire", "local.small-venue.sd"]

    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    topic: 电焊\n    layer: 乱写\n    party: 单位\n    duty: d\n"
                   "    basis: [{document: 安全生产法, article: 第四十三条}]\n", encoding="utf-8")
    out = cli("duties", "load", str(bad))
    assert out.exit_code == 1 and "文件未加载" in out.output and "第2行" in out.output and "乱写" in out.output
    as_json = json.loads(cli("duties", "load", str(bad), "--format", "json").output)
    assert as_json["ok"] is False and as_json["errors"][0]["row"] == "第2行"


def test_suggest_proposes_but_never_publishes(cli, tmp_path):
    out = cli("duties", "suggest", "山东省消防条例", "-o", "cand.yaml")
    assert out.exit_code == 0 and "候选规则" in out.output
    candidates = yaml.safe_load((tmp_path / "cand.yaml").read_text("utf-8"))["rules"]
    assert len(candidates) >= 10
    by_article = {c["basis"][0]["article"]: c for c in candidates}
    police = next(c for c in candidates if "派出所" in c["party"] and c["basis"][0]["article"] == "第五十八条")
    assert police["layer"] == "部门监管责任" and police["jurisdiction"] == "山东省"
    modern = [c for c in candidates if c.get("law_wording") == "公安机关消防机构"]
    assert modern and all("消防救援机构" in c["party"] for c in modern)
    assert "第七条" in by_article and by_article["第七条"]["layer"] == "党政领导责任"  # 政府主要负责人 第一责任人
    # Candidates are not in the rule table and cannot be loaded before someone names the topic.
    assert json.loads(cli("duties", "list", "--format", "json").output) == []
    rejected = cli("duties", "load", "cand.yaml")
    assert rejected.exit_code == 1 and "主题(topic)：不能为空" in rejected.output
    assert json.loads(cli("duties", "list", "--format", "json").output) == []

    missing = cli("duties", "suggest", "不存在的条例")
    assert missing.exit_code == 1 and "知识库中没有" in missing.output


def test_check_reports_rules_whose_document_was_removed(cli, sessions):
    from knowledge.db import transaction
    from knowledge.documents import remove_document

    cli("duties", "sync")
    ok = cli("duties", "check")
    assert ok.exit_code == 0 and "均有效" in ok.output
    with transaction(sessions) as session:
        remove_document(session, "大型群众性活动安全管理条例", "admin")
    bad = cli("duties", "check", "--format", "json")
    assert bad.exit_code == 1
    problems = json.loads(bad.output)["problems"]
    assert problems and all(p.startswith("event.") for p in problems)
    assert "《大型群众性活动安全管理条例》不在知识库中" in problems[0]
