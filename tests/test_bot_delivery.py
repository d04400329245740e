"""End to end, on a small knowledge base (SQLite and PostgreSQL): who may use the bot, long
answers split into valid messages, and webhook mode."""
from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from bot_support import bot_settings, plain, running_bot
from fake_telegram import FakeTelegram, parse_html

from bot.runtime import Runtime
from bot.telegram_bot.app import build_application, webhook_parameters
from bot.telegram_bot.gate import GROUP_REFUSAL
from bot.telegram_bot.html_text import MESSAGE_LIMIT
from knowledge.config import Settings

LONG_RULE_TITLE = "示例市危险作业管理细则"


def _long_rule(path: Path) -> Path:
    items = "\n".join(f"（{n}）作业单位应当对第{n}类危险作业 <设置> 警戒区 & 专人监护，作业前核对审批手续并留存记录备查。"
                      for n in range(1, 121))
    path.write_text(f"# {LONG_RULE_TITLE}\n\n第一条 为规范危险作业管理，制定本细则。\n\n"
                    f"第二条 危险作业应当遵守下列要求：\n{items}\n\n第三条 本细则自发布之日起施行。\n",
                    encoding="utf-8")
    return path


@pytest.fixture
def small_settings(tg_server: FakeTelegram, settings: Settings, tmp_path: Path) -> dict:
    """Keyword arguments for bot_settings on this test's database (SQLite or PostgreSQL)."""
    return {"database_url": settings.database_url, "load_bundled": False, "data_dir": tmp_path / "bot"}


def _settings(server: FakeTelegram, small: dict, models_dir: Path, **kw: object) -> Settings:
    return bot_settings(server, small["data_dir"], models_dir, database_url=small["database_url"],
                        load_bundled=False, **kw)  # type: ignore[arg-type]


async def test_long_answer_is_split_on_line_boundaries_with_valid_html(
        tg_server: FakeTelegram, small_settings: dict, models_dir: Path, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = tg_server.user("小周")
    group = tg_server.group_chat("危化企业群")
    settings = _settings(tg_server, small_settings, models_dir, allowed_chats=[group.id])
    source = _long_rule(tmp_path / "long.md")

    def load(runtime: Runtime) -> None:
        runtime.knowledge.ingest(source, "test", title=LONG_RULE_TITLE)

    async with running_bot(tg_server, settings, embedder=embedder, prepare=load) as driver:
        replies = await driver.send(group, user, f"/law {LONG_RULE_TITLE} 第二条")
    assert len(replies) >= 2
    shown = [plain(r) for r in replies]
    assert all(len(text) <= MESSAGE_LIMIT for text in shown)
    for reply in replies:
        parse_html(reply.params["text"])  # every part is valid HTML on its own
    lines = "\n".join(shown).split("\n")
    assert lines[0].startswith(f"《{LONG_RULE_TITLE}》第二条")
    items = [line for line in lines if line.startswith("（")]
    assert len(items) == 120 and items[-1].startswith("（120）")  # nothing lost, no line cut in half
    assert "<设置> 警戒区 & 专人监护" in items[0]


async def test_chats_not_allowed_get_one_polite_refusal(
        tg_server: FakeTelegram, small_settings: dict, models_dir: Path) -> None:
    admin, stranger = tg_server.user("管理员"), tg_server.user("路人")
    allowed = tg_server.group_chat("已开通群")
    other = tg_server.group_chat("未开通群")
    settings = _settings(tg_server, small_settings, models_dir, admin_ids=[admin.id], allowed_chats=[allowed.id])
    async with running_bot(tg_server, settings) as driver:
        first = await driver.send(other, stranger, "/ask 动火作业谁审批")
        assert [plain(r) for r in first] == [GROUP_REFUSAL.format(chat_id=other.id)]
        mark = driver.server.mark()
        driver.server.user_message(other, stranger, "/ask 还是不回答吗")
        driver.server.user_message(other, admin, "@safety_test_bot 你好")
        await driver.silent(other, mark, seconds=1.5)

        private = tg_server.private_chat(stranger)
        refusal = plain((await driver.send(private, stranger, "你好"))[0])
        assert "/bind" in refusal and "已登记" in refusal
        mark = driver.server.mark()
        driver.server.user_message(private, stranger, "在吗")
        await driver.silent(private, mark, seconds=1.0)
        start = plain((await driver.send(private, stranger, "/start"))[0])  # always open: explains /bind
        assert "/bind" in start

        admin_chat = tg_server.private_chat(admin)
        assert "用法" in plain((await driver.send(admin_chat, admin, "/law"))[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_receives_updates_behind_a_proxy(
        tg_server: FakeTelegram, small_settings: dict, models_dir: Path) -> None:
    user = tg_server.user("值班员")
    group = tg_server.group_chat("值班群")
    port = _free_port()
    settings = _settings(tg_server, small_settings, models_dir, allowed_chats=[group.id],
                         webhook_url="https://bot.example.org/tg/hook", webhook_port=port,
                         webhook_secret="s3cret-token_1")
    tg_server.proxy_webhook("https://bot.example.org", f"http://127.0.0.1:{port}")
    runtime = Runtime(settings)
    app = build_application(runtime, warm_up=False)
    params = webhook_parameters(runtime)
    await app.initialize()
    await app.post_init(app)  # type: ignore[misc]
    await app.start()
    await app.updater.start_webhook(**params)  # type: ignore[union-attr, arg-type]
    try:
        assert tg_server.webhook is not None and tg_server.webhook.url == "https://bot.example.org/tg/hook"
        assert tg_server.webhook.secret_token == "s3cret-token_1"
        mark = tg_server.mark()
        tg_server.user_message(group, user, "/law")
        reply = await tg_server.wait_for("sendMessage", lambda p: p["chat_id"] == group.id, since=mark, timeout=20)
        assert "用法" in plain(reply)
        # A post without Telegram's secret is refused and changes nothing.
        status = await tg_server.post_webhook(
            f"http://127.0.0.1:{port}/tg/hook", {"message": tg_server.find_message(group.id, 1)})
        assert status == 403
    finally:
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
        await app.shutdown()
        runtime.close()
    await asyncio.sleep(0)


async def test_questions_are_answered_while_a_large_upload_is_being_indexed(
        tg_server: FakeTelegram, small_settings: dict, models_dir: Path, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, worker = tg_server.user("管理员"), tg_server.user("小周")
    group = tg_server.group_chat("危化企业群")
    settings = _settings(tg_server, small_settings, models_dir, admin_ids=[admin.id], allowed_chats=[group.id])
    source = _long_rule(tmp_path / "long.md")
    articles = "\n\n".join(f"第{n}条 第{n}号储罐区应当设置可燃气体检测报警装置，并由专人每日巡查第{n}号储罐的液位和温度。"
                           for n in range(1, 301))
    big = f"# 示例市储罐区安全管理规定\n\n{articles}\n".encode()

    def load(runtime: Runtime) -> None:
        runtime.knowledge.ingest(source, "test", title=LONG_RULE_TITLE)

    async with running_bot(tg_server, settings, embedder=embedder, prepare=load) as driver:
        private = tg_server.private_chat(admin)
        mark = tg_server.mark()
        tg_server.document_message(private, admin, big, "储罐区规定.md")
        status = await tg_server.wait_for("sendMessage", lambda p: p["chat_id"] == private.id, since=mark, timeout=30)
        answer = (await driver.send(group, worker, f"/law {LONG_RULE_TITLE} 第一条"))[0]
        summary = await tg_server.wait_for(
            "editMessageText", lambda p: p.get("message_id") == status.result["message_id"] and "已新增" in p["text"],
            since=mark, timeout=180)
    assert plain(answer).startswith(f"《{LONG_RULE_TITLE}》第一条")
    assert answer.at < summary.at  # the question did not wait for the 300 articles to be embedded
