"""The bot when the machine misbehaves, and the presses and files nobody expected: the real PTB
application against the fake Telegram server, a real SQLite file locked by another connection."""
from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bot_support import BotDriver, bot_settings, plain, running_bot
from fake_telegram import FakeChat, FakeTelegram, FakeUser

from bot.runtime import Runtime
from bot.telegram_bot.gate import PRIVATE_REFUSAL
from bot.telegram_bot.general import STALE_BUTTON
from knowledge.faults import DatabaseBusy
from knowledge.ledger import Actor

pytestmark = pytest.mark.slow


@dataclass
class Scene:
    driver: BotDriver
    server: FakeTelegram
    admin: FakeUser
    admin_chat: FakeChat
    codes: list[str]


@pytest.fixture
async def scene(tg_server: FakeTelegram, tmp_path: Path, models_dir: Path, embedder) -> AsyncIterator[Scene]:
    admin = tg_server.user("王主任", "wang_admin")
    codes: list[str] = []

    def organisation(runtime: Runtime) -> None:
        boss = Actor.local_admin("cli:test")
        runtime.ledger.add_unit(boss, "示例市", "市")
        for name in ("张三", "李四"):
            runtime.ledger.add_official(boss, name, "示例市", "official")
            codes.append(runtime.ledger.issue_bind_code(boss, name))

    settings = bot_settings(tg_server, tmp_path / "data", models_dir, admin_ids=[admin.id], load_bundled=False,
                            db_busy_timeout=1.0, writer_lock_wait=1.0)
    async with running_bot(tg_server, settings, embedder=embedder, prepare=organisation) as driver:
        yield Scene(driver, tg_server, admin, tg_server.private_chat(admin), codes)


async def test_locked_database_one_sentence_to_users_one_alert_to_admins(scene: Scene):
    server, driver = scene.server, scene.driver
    zhang, li = server.user("张三", "zhangsan"), server.user("李四", "lisi")
    zhang_chat, li_chat = server.private_chat(zhang), server.private_chat(li)
    holder = sqlite3.connect(driver.runtime.settings.data_dir / "safetybot.sqlite3")
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, and not finishing
    try:
        mark = server.mark()
        first = await driver.send(zhang_chat, zhang, f"/bind {scene.codes[0]}")
        second = await driver.send(li_chat, li, f"/bind {scene.codes[1]}")
    finally:
        holder.rollback()
        holder.close()
    for replies in (first, second):
        assert [plain(r) for r in replies] == [DatabaseBusy.user_message]
    alerts = [c for c in server.sent[mark:] if c.method == "sendMessage" and c.params["chat_id"] == scene.admin.id]
    assert len(alerts) == 1  # two users ran into it, the admins hear about it once
    assert "数据库正被另一个程序占用" in plain(alerts[0]) and "Traceback" not in plain(alerts[0])

    # still running: once the other writer is done, the same code works
    replies = await driver.send(zhang_chat, zhang, f"/bind {scene.codes[0]}")
    assert "绑定成功" in plain(replies[0])


@pytest.mark.parametrize("data", ["zzz-garbage", "x" * 64, "h:", "a:notanumber"])
async def test_every_button_press_is_answered(scene: Scene, data: str):
    server, driver = scene.server, scene.driver
    help_reply = (await driver.send(scene.admin_chat, scene.admin, "/help"))[0]
    mark = server.mark()
    query_id = server.callback_query(scene.admin, help_reply, data, check_button=False)
    answer = await server.wait_for("answerCallbackQuery", lambda p: p.get("callback_query_id") == query_id,
                                   since=mark, timeout=20)
    assert answer.params.get("text")  # never an empty answer that leaves the user guessing
    if data in ("zzz-garbage", "x" * 64):
        assert answer.params["text"] == STALE_BUTTON


async def test_strangers_document_in_private_gets_the_same_polite_refusal(scene: Scene):
    server, driver = scene.server, scene.driver
    stranger = server.user("路人", "passerby")
    chat = server.private_chat(stranger)
    mark = server.mark()
    server.document_message(chat, stranger, "第一条 测试。".encode(), "规定.txt")
    replies = await driver.replies(chat, mark)
    assert [plain(r) for r in replies] == [PRIVATE_REFUSAL]
    mark = server.mark()
    server.document_message(chat, stranger, "第一条 测试。".encode(), "规定2.txt")
    await driver.silent(chat, mark)  # one refusal, then silence, as for text
    await asyncio.sleep(0)


async def test_upload_while_another_process_writes_is_refused_in_words(scene: Scene):
    server, driver = scene.server, scene.driver
    lock = driver.runtime.settings.writer_lock_path
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; from pathlib import Path; from knowledge.writer_lock import writer_lock\n"
         f"with writer_lock(Path({str(lock)!r}), 5):\n    print('held', flush=True); time.sleep(60)"],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        mark = server.mark()
        server.document_message(scene.admin_chat, scene.admin,
                                "# 某规定\n\n第一条 动火作业应当办理审批手续。\n".encode(), "某规定.md")
        status = await server.wait_for("sendMessage", lambda p: p.get("chat_id") == scene.admin.id, since=mark,
                                       timeout=30)
        final = await server.wait_for(
            "editMessageText",
            lambda p: p.get("message_id") == status.result["message_id"] and "未能入库" in str(p.get("text", "")),
            since=mark, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    text = plain(final)
    assert "另一个 safetybot 进程正在写入同一个数据目录" in text and "Traceback" not in text
    assert driver.runtime.knowledge.list_documents() == []  # nothing half-loaded
