"""End to end: the real bot answers questions in chats, through the fake Telegram server."""
from __future__ import annotations

import pytest
from bot_support import bot_settings, plain, running_bot
from fake_telegram import FakeTelegram

pytestmark = pytest.mark.slow


@pytest.fixture
async def qa(tg_server: FakeTelegram, bundled_copy, models_dir, embedder):  # type: ignore[no-untyped-def]
    boss = tg_server.user("王主任", "wang_boss")
    worker = tg_server.user("小李", "xiaoli")
    group = tg_server.group_chat("安委办工作群", admins=[boss])
    tg_server.private_chat(boss)  # Telegram knows an admin's private chat only once they have opened it
    settings = bot_settings(tg_server, bundled_copy, models_dir, admin_ids=[boss.id], allowed_chats=[group.id])
    async with running_bot(tg_server, settings, embedder=embedder) as driver:
        yield driver, group, boss, worker


async def test_group_question_addressed_by_mention_is_answered_with_citations(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    replies = await driver.send(group, worker, "@safety_test_bot 生产安全事故发生后多久要上报？")
    assert len(replies) == 1
    text = plain(replies[0])
    assert "《生产安全事故报告和调查处理条例》第九条" in text or "《安全生产法》第八十三条" in text
    buttons = driver.server.buttons(replies[0])
    assert buttons[0][0] == "查看原文"
    assert replies[0].params["reply_parameters"]["message_id"]  # quotes the question in a group


async def test_group_message_not_addressed_to_the_bot_is_ignored(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, boss, worker = qa
    mark = driver.server.mark()
    driver.server.user_message(group, worker, "明天上午九点开会，讨论动火作业审批的事")
    driver.server.user_message(group, worker, "@someone_else 消防通道谁负责清理？")
    await driver.silent(group, mark, seconds=1.5)


async def test_reply_to_the_bot_counts_as_addressed(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    first = await driver.send(group, worker, "/ask 事故发生后多久上报")
    follow = await driver.send(group, worker, "特种设备使用登记去哪里办？", reply_to=first[0])
    assert "《特种设备安全法》" in plain(follow[0])


async def test_view_original_button_shows_the_full_article(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    answer = (await driver.send(group, worker, "/ask 危险作业需要安排专门人员现场安全管理吗"))[0]
    label, data = driver.server.buttons(answer)[0]
    assert label == "查看原文"
    calls = await driver.press(worker, answer, data)
    shown = [c for c in calls if c.method == "sendMessage"]
    assert len(shown) == 1
    article = plain(shown[0])
    assert article.startswith("《安全生产法》第四十三条")
    assert "爆破、吊装" in article  # the whole article, not the excerpt


async def test_who_question_lists_duty_layers_and_basis_buttons(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    answer = (await driver.send(group, worker, "@safety_test_bot 电焊作业安全谁负责？"))[0]
    text = plain(answer)
    assert "企业主体责任" in text and "部门监管责任" in text
    buttons = driver.server.buttons(answer)
    assert buttons and all(data.startswith("p:") for _, data in buttons)
    assert any(label.startswith("安全生产法") for label, _ in buttons)
    calls = await driver.press(worker, answer, buttons[0][1])
    assert any(c.method == "sendMessage" and plain(c).startswith("《") for c in calls)


async def test_who_command_without_rules_falls_back_to_cited_articles(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    text = plain((await driver.send(group, worker, "/who 矿山救护队的装备谁负责检查"))[0])
    assert "《" in text


async def test_private_chat_any_text_is_a_question_for_an_admin(qa, tg_server) -> None:  # type: ignore[no-untyped-def]
    driver, _, boss, _ = qa
    chat = tg_server.private_chat(boss)
    text = plain((await driver.send(chat, boss, "安全生产法第二十一条"))[0])
    assert text.startswith("《安全生产法》第二十一条")


async def test_user_text_is_escaped_when_echoed(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    reply = (await driver.send(group, worker, "/law <b>安全</b> & 法"))[0]
    assert "“<b>安全</b> & 法”" in plain(reply)  # shown literally, not as bold
    assert reply.result.get("entities", []) == [] or all(e["type"] != "bold" for e in reply.result["entities"])
    answer = (await driver.send(group, worker, "/ask <i>动火作业</i> & 审批 <"))[0]
    assert "《" in plain(answer)


async def test_unclear_or_empty_input_gets_a_polite_hint(qa, tg_server) -> None:  # type: ignore[no-untyped-def]
    driver, group, boss, worker = qa
    assert "请在命令后写上问题" in plain((await driver.send(group, worker, "/ask"))[0])
    too_long = "动火" * 300
    assert "问题太长了" in plain((await driver.send(group, worker, f"/ask {too_long}"))[0])
    off_topic = plain((await driver.send(group, worker, "/ask 今晚的足球比赛谁会赢"))[0])
    assert "没有找到" in off_topic


async def test_429_is_waited_out_and_the_answer_still_arrives(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    driver.server.fail_next("sendMessage", 429, retry_after=1)
    mark = driver.server.mark()
    driver.server.user_message(group, worker, "/ask 安全生产法第四十一条")
    ok = await driver.server.wait_for("sendMessage", lambda p: p["chat_id"] == group.id, since=mark, timeout=20)
    failed = [c for c in driver.server.sent[mark:] if c.method == "sendMessage" and c.status == 429]
    assert len(failed) == 1 and ok.at - failed[0].at >= 0.9
    assert plain(ok).startswith("《安全生产法》第四十一条")
    assert len(driver.server.calls("sendMessage", chat_id=group.id)) == 1  # answered once, not twice


async def test_server_errors_are_retried(qa) -> None:  # type: ignore[no-untyped-def]
    driver, group, _, worker = qa
    driver.server.fail_next("sendMessage", 502, times=2)
    mark = driver.server.mark()
    replies = await driver.send(group, worker, "/ask 消防法第二十一条")
    assert len(replies) == 1 and plain(replies[0]).startswith("《消防法》第二十一条")
    assert [c.status for c in driver.server.sent[mark:] if c.method == "sendMessage"] == [502, 502, 200]


async def test_commands_are_published_per_scope(qa, tg_server) -> None:  # type: ignore[no-untyped-def]
    _, _, boss, _ = qa
    names = lambda cmds: {c["command"] for c in cmds}  # noqa: E731
    private = names(tg_server.commands_for("all_private_chats"))
    group = names(tg_server.commands_for("all_group_chats"))
    admin = names(tg_server.commands_for("chat", chat_id=boss.id))
    assert {"start", "ask", "who", "law", "report", "bind", "stats"} <= private
    assert "bind" not in group and {"ask", "hazards"} <= group
    assert {"upload", "remove", "rules", "issuecode"} <= admin and not {"upload", "issuecode"} & private
