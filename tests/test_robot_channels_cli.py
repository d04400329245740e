"""`safetybot channels …` and the channel service: permissions, validation, masking, audit, repair."""
from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from fake_robots import FakeDingTalk, FakeRobotServer
from robot_support import robot_world
from sqlalchemy import select

from bot.cli.app import main
from knowledge.group_robots import RobotChannelService
from knowledge.ledger import LedgerError, LedgerService, PermissionDenied
from knowledge.models import AuditLog
from knowledge.reminders.service import ReminderService

KEY = "0123456789abcdef0123456789abcdef"
DING = f"https://oapi.dingtalk.com/robot/send?access_token={KEY}"


@contextmanager
def serving(server: FakeRobotServer) -> Iterator[FakeRobotServer]:
    """A fake server on its own event loop in a thread, for synchronous CLI tests."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _cli(settings, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    env = {"SAFETYBOT_DATA_DIR": str(settings.data_dir), "SAFETYBOT_DATABASE_URL": settings.db_url,
           "SAFETYBOT_LOAD_BUNDLED": "false"}
    return CliRunner().invoke(main, list(args), env=env, input=input)


def test_add_list_remove_with_masked_keys_and_audit(sessions, settings) -> None:
    robot_world(sessions, settings, items=0)
    added = _cli(settings, "channels", "add", "甲区", "--kind", "钉钉", "--webhook", "-", "--secret", "-",
                 input=f"{DING}\nSECsecret-value-42\n")
    assert added.exit_code == 0, added.output
    assert "甲区钉钉群｜钉钉｜甲区｜正常" in added.output and "access_token=****cdef" in added.output
    listed = _cli(settings, "channels", "list", "--format", "json")
    [row] = json.loads(listed.output)
    assert row["secret"] == "****e-42" and KEY not in listed.output and "SECsecret" not in listed.output
    again = _cli(settings, "channels", "add", "乙区", "--kind", "dingtalk", "--webhook", DING)
    assert again.exit_code == 1 and "这个机器人地址已经登记过了" in again.output
    removed = _cli(settings, "channels", "remove", "甲区钉钉群")
    assert removed.exit_code == 0 and "已删除群机器人“甲区钉钉群”" in removed.output
    with sessions() as s:
        actions = [(a.action, json.dumps(a.detail, ensure_ascii=False))
                   for a in s.scalars(select(AuditLog).where(AuditLog.object_type == "robot_channel"))]
    assert [a for a, _ in actions] == ["channel.add", "channel.remove"]
    assert all(KEY not in detail and "SECsecret" not in detail for _, detail in actions)


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "qq", "--webhook", DING], "机器人类型应为"),
    (["--kind", "wecom", "--webhook", DING], "企业微信机器人地址格式不对"),
    (["--kind", "dingtalk", "--webhook", DING.replace("https", "http")], "须使用 https"),
    (["--kind", "wecom", "--webhook", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
      "--secret", "abc"], "企业微信群机器人没有加签密钥"),
])
def test_bad_input_gets_a_polite_message_and_nothing_is_stored(sessions, settings, args, message) -> None:
    robot_world(sessions, settings, items=0)
    result = _cli(settings, "channels", "add", "甲区", *args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert _cli(settings, "channels", "list").output.strip() == "尚未登记群机器人。"


def test_only_admins_manage_robots(sessions, settings) -> None:
    world = robot_world(sessions, settings, items=0)
    with pytest.raises(PermissionDenied):
        world.robots.add(world.org.li, "甲区", "dingtalk", DING)
    with pytest.raises(PermissionDenied):
        world.robots.list(world.org.zhang)


def test_cli_test_reports_a_broken_robot_and_a_repair_clears_the_mark(sessions, settings) -> None:
    world = robot_world(sessions, settings, items=0)
    with serving(FakeDingTalk()) as server:
        robot = server.add_robot(secret="SEC-right")
        world.robots.add(world.org.admin, "甲区", "dingtalk", server.url(robot), "SEC-wrong", name="区钉钉")
        failed = _cli(settings, "channels", "test", "区钉钉")
        assert failed.exit_code == 1 and "未送达，机器人已标记为失效" in failed.output and "310000" in failed.output
        assert "失效" in _cli(settings, "channels", "list").output
        assert [u.address for u in ReminderService(world.org.svc).undeliverable()] == ["区钉钉"]
        robot.secret = "SEC-wrong"  # the admin fixed the robot's security setting
        fixed = _cli(settings, "channels", "test", "区钉钉")
        assert fixed.exit_code == 0 and "已送达" in fixed.output and "已解除失效标记" in fixed.output
        assert ReminderService(world.org.svc).undeliverable() == []
        assert len(robot.received) == 1 and "群机器人连接测试" in robot.received[0].text


def test_a_lost_key_is_explained(sessions, settings) -> None:
    world = robot_world(sessions, settings, items=0)
    world.robots.add(world.org.admin, "甲区", "dingtalk", DING)
    other = settings.model_copy(update={"channel_key": "x" * 43 + "="})  # another instance, another key
    with pytest.raises(LedgerError, match="加密密钥与保存时不同"):
        RobotChannelService(LedgerService(sessions, other)).target("甲区钉钉群")
