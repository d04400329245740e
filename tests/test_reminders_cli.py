"""Group links and escalation lines through the `safetybot` command line (CliRunner, temp data dir)."""
from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner

from bot.cli import main
from knowledge.db import transaction
from knowledge.ledger.base import calendar_for
from knowledge.reminders.daycount import WorkdayCounter
from knowledge.reminders.escalation import record_escalations
from knowledge.reminders.messages import ReminderKind
from knowledge.reminders.planner import plan_day


@pytest.fixture
def cli(settings, tmp_path):
    env = {"SAFETYBOT_DATA_DIR": str(tmp_path / "data"), "SAFETYBOT_DATABASE_URL": settings.database_url,
           "SAFETYBOT_LOAD_BUNDLED": "false"}
    runner = CliRunner()

    def run(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    run("units", "add", "示例市", "--kind", "市")
    run("units", "add", "甲区", "--kind", "县区", "--parent", "示例市")
    run("units", "add", "应急管理局", "--kind", "部门", "--parent", "甲区")
    run("officials", "add", "张三", "--unit", "甲区")
    run("officials", "add", "李四", "--unit", "甲区/应急管理局", "--role", "supervisor")
    return run


def test_link_and_unlink_a_group(cli):
    assert "已将群 -100123 关联到“甲区”" in cli("units", "link-chat", "甲区", "-100123").stdout
    assert "无需重复关联" in cli("units", "link-chat", "甲区", "-100123", ok=False).stderr
    links = json.loads(cli("units", "chats", "--format", "json").stdout)
    assert [(x["unit"], x["kind"], x["address"]) for x in links] == [("甲区", "telegram", "-100123")]
    moved = json.loads(cli("units", "link-chat", "示例市", "-100123", "--format", "json").stdout)
    assert moved["unit"] == "示例市"
    assert "已解除群 -100123 与“示例市”的关联" in cli("units", "unlink-chat", "-100123").stdout
    assert "尚未关联任何单位" in cli("units", "unlink-chat", "-100123", ok=False).stderr
    assert "尚未关联任何群聊" in cli("units", "chats").stdout


def test_escalation_shows_on_hazards_show(cli, settings, sessions):
    made = json.loads(cli("hazards", "add", "-d", "配电箱无防护罩", "--unit", "甲区", "--deadline", "3个工作日",
                          "--official", "张三", "--supervising-unit", "甲区/应急管理局", "--format", "json").stdout)
    number, deadline = made["item"]["number"], date.fromisoformat(made["item"]["deadline"])
    due = plan_day(sessions, settings, deadline)
    assert not [r for r in due.reminders if r.kind == ReminderKind.ESCALATION]
    day_after = WorkdayCounter(calendar_for(settings)).add(deadline, 1)
    later = plan_day(sessions, settings, day_after)
    with transaction(sessions) as s:
        assert record_escalations(s, later.reminders) == [(number, 1)]
    shown = cli("hazards", "show", number).stdout
    assert f"逾期升级：一级 {day_after.isoformat()}（李四）" in shown
    assert "系统提醒 逾期升级提醒" in shown
