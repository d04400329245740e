"""``/channels`` from Telegram, through the real bot against the fake Telegram and 企业微信 servers."""
from __future__ import annotations

from pathlib import Path

import pytest
from bot_support import bot_settings, plain, running_bot
from fake_robots import FakeWeCom
from fake_telegram import FakeTelegram

from bot.runtime import Runtime
from knowledge.group_robots import RobotChannelService
from knowledge.ledger import Actor

pytestmark = pytest.mark.slow


async def test_admins_list_and_test_robots_but_never_add_them_in_chat(
        tg_server: FakeTelegram, wecom_server: FakeWeCom, tmp_path: Path, models_dir: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    boss, worker = tg_server.user("王主任", "wang_boss"), tg_server.user("小李", "xiaoli")
    boss_chat = tg_server.private_chat(boss)
    group = tg_server.group_chat("安委办工作群", admins=[boss])
    robot = wecom_server.add_robot()

    def prepare(runtime: Runtime) -> None:
        admin = Actor.local_admin("cli:test")
        runtime.ledger.add_unit(admin, "示例市", "市")
        RobotChannelService(runtime.ledger).add(admin, "示例市", "wecom", wecom_server.url(robot), name="市安委办群")

    settings = bot_settings(tg_server, tmp_path / "data", models_dir, admin_ids=[boss.id],
                            allowed_chats=[group.id], load_bundled=False)
    async with running_bot(tg_server, settings, embedder=embedder, prepare=prepare) as driver:
        [listed] = await driver.send(boss_chat, boss, "/channels")
        assert "市安委办群（企业微信，示例市）正常" in plain(listed)
        [tested] = await driver.send(boss_chat, boss, "/channels test 市安委办群")
        assert "测试消息已送达" in plain(tested)
        # On a working day after 09:00 the bot's start-up catch-up also sends the unit's daily digest.
        assert len([a for a in robot.received if "群机器人连接测试" in a.text]) == 1
        [refused] = await driver.send(group, boss, "/channels add 示例市 --kind wecom --webhook https://x")
        assert "不要在聊天中发送" in plain(refused) and "safetybot channels add" in plain(refused)
        [denied] = await driver.send(group, worker, "/channels")
        assert "仅限管理员" in plain(denied)
    assert all(robot.key not in c.params.get("text", "") for c in tg_server.sent)
