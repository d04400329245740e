"""End to end: administrators upload documents and rule tables, remove documents and issue bind
codes through the real bot and the fake Telegram server."""
from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bot_support import BotDriver, bot_settings, plain, running_bot
from docx import Document as new_docx
from fake_telegram import ApiCall, FakeChat, FakeTelegram, FakeUser
from telegram import Bot

from bot.runtime import Runtime
from bot.telegram_bot.uploads.status import StatusMessage
from knowledge.config import Settings
from knowledge.ledger import Actor

pytestmark = pytest.mark.slow

TITLE = "某市高空作业安全管理规定"
ARTICLES = [
    "第一条 为了加强本市高空作业安全管理，预防高处坠落和物体打击事故，制定本规定。",
    "第二条 本市行政区域内建筑施工、外墙清洗等高空作业活动，适用本规定。",
    "第三条 临街建筑外墙施工的，施工单位应当在作业面下方设置高空抛物防护网，"
    "高空抛物防护网每七日至少检查一次，并留存检查记录。",
    "第四条 高空作业人员应当正确系挂安全带，安全带应当高挂低用。",
    "第五条 违反本规定第三条，未设置高空抛物防护网的，由住房城乡建设主管部门责令限期改正，"
    "处一万元以上三万元以下罚款。",
]
QUESTION = "高空抛物防护网多久检查一次？"
BROKEN_RULES = (
    "id,topic,layer,party,duty,basis\n"
    "R-1,动火作业审批,企业,,负责审批动火作业,《安全生产法》第四十一条\n"
    "R-2,高空作业,不存在的层级,施工单位,设置防护网,《不存在的法规》第三条\n"
)


def regulation_docx() -> bytes:
    return docx_bytes(ARTICLES, heading=TITLE)


def docx_bytes(paragraphs: list[str], heading: str | None = None) -> bytes:
    doc = new_docx()
    if heading:
        doc.add_heading(heading, level=0)
    for paragraph in paragraphs:
        doc.add_paragraph(paragraph)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


@dataclass
class People:
    boss: FakeUser  # configured admin
    worker: FakeUser  # ordinary member of the group
    group: FakeChat  # an allowed work group, not the admin chat
    boss_chat: FakeChat
    admin_group: FakeChat  # the configured admin chat; its administrators are bot admins too
    deputy: FakeUser  # administrator of the admin chat only


@dataclass
class Cast(People):
    driver: BotDriver
    server: FakeTelegram


def _people(server: FakeTelegram) -> People:
    boss = server.user("王主任", "wang_boss")
    worker = server.user("小李", "xiaoli")
    deputy = server.user("赵副主任", "zhao_deputy")
    group = server.group_chat("安委办工作群", admins=[boss])
    admin_group = server.group_chat("安全管理员群", admins=[deputy])
    return People(boss, worker, group, server.private_chat(boss), admin_group, deputy)


def _settings(server: FakeTelegram, data_dir: Path, models_dir: Path, people: People, **extra: Any) -> Settings:
    return bot_settings(server, data_dir, models_dir, admin_ids=[people.boss.id], allowed_chats=[people.group.id],
                        admin_chat=people.admin_group.id, **extra)


@pytest.fixture
async def bundled_bot(tg_server: FakeTelegram, bundled_copy: Path, models_dir: Path,
                      embedder) -> AsyncIterator[Cast]:  # type: ignore[no-untyped-def]
    people = _people(tg_server)
    settings = _settings(tg_server, bundled_copy, models_dir, people)
    async with running_bot(tg_server, settings, embedder=embedder) as driver:
        yield Cast(**vars(people), driver=driver, server=tg_server)


def _organisation(runtime: Runtime) -> None:
    admin = Actor.local_admin("cli:test")
    runtime.ledger.add_unit(admin, "示例市", "市")
    runtime.ledger.add_official(admin, "张三", "示例市", "official")


@pytest.fixture
async def empty_bot(tg_server: FakeTelegram, tmp_path: Path, models_dir: Path,
                    embedder) -> AsyncIterator[Cast]:  # type: ignore[no-untyped-def]
    """A bot without the bundled laws: for everything that needs no answers."""
    people = _people(tg_server)
    settings = _settings(tg_server, tmp_path / "data", models_dir, people, load_bundled=False)
    async with running_bot(tg_server, settings, embedder=embedder, prepare=_organisation) as driver:
        yield Cast(**vars(people), driver=driver, server=tg_server)


async def send_file(cast: Cast, chat: FakeChat, user: FakeUser, data: bytes, name: str,
                    caption: str | None = None, **kw: Any) -> tuple[ApiCall, ApiCall, list[ApiCall]]:
    """Sends a file; returns the status message, its final edit and every call made meanwhile."""
    server = cast.server
    mark = server.mark()
    server.document_message(chat, user, data, name, caption=caption, **kw)
    status = await server.wait_for("sendMessage", lambda p: p.get("chat_id") == chat.id, since=mark, timeout=30)
    message_id = status.result["message_id"]
    final = await server.wait_for(
        "editMessageText",
        lambda p: p.get("message_id") == message_id and not str(p.get("text", "")).endswith("…"),
        since=mark, timeout=120,
    )
    await cast.driver.idle()
    return status, final, list(server.sent[mark:])


def cites(reply: ApiCall, title: str = TITLE) -> bool:
    return f"《{title}》" in plain(reply)


async def ask(cast: Cast, question: str = QUESTION) -> ApiCall:
    replies = await cast.driver.send(cast.boss_chat, cast.boss, question)
    return replies[0]


def no_download(server: FakeTelegram) -> None:
    assert server.calls("getFile", ok_only=False) == []
    assert server.downloads == []


# ---- with the bundled laws (slow to build once; keep these few) -----------------------------
async def test_admin_upload_is_answerable_at_once_and_a_failed_upload_changes_nothing(bundled_bot: Cast) -> None:
    cast = bundled_bot
    before = await ask(cast)
    assert not cites(before)

    status, final, calls = await send_file(cast, cast.boss_chat, cast.boss, regulation_docx(), f"{TITLE}.docx")
    assert plain(status) == f"已收到《{TITLE}.docx》，正在下载…"
    sends = [c for c in calls if c.method == "sendMessage"]
    edits = [c for c in calls if c.method == "editMessageText"]
    assert sends == [status]  # one status message, edited in place
    assert edits and {c.params["message_id"] for c in edits} == {status.result["message_id"]}
    summary = plain(final)
    assert f"已新增《{TITLE}》" in summary
    assert "共 5 段：新增 5 段，移除 0 段" in summary, summary
    assert len(cast.server.downloads) == 1

    answer = await ask(cast)
    assert cites(answer), plain(answer)
    assert "七日" in plain(answer)

    # A "Word file" that is really something else: refused, the index keeps serving.
    not_docx = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600  # an old .doc, renamed
    _, failed, calls = await send_file(cast, cast.boss_chat, cast.boss, not_docx, "坏文件.docx")
    assert "《坏文件.docx》未能入库" in plain(failed)
    assert ".docx" in plain(failed).split("未能入库", 1)[1]
    assert "已收录的文件不受影响" in plain(failed)
    assert [c for c in calls if c.method == "sendMessage"] == [calls[0]]
    assert cites(await ask(cast))


async def test_remove_asks_for_confirmation_and_the_document_is_no_longer_cited(bundled_bot: Cast) -> None:
    cast = bundled_bot
    # /upload with a title, in the work group: the title replaces the file name.
    _, final, _ = await send_file(cast, cast.group, cast.boss, regulation_docx(), "draft-v3.docx",
                                  caption=f"/upload {TITLE}")
    assert f"已新增《{TITLE}》" in plain(final)
    assert cites(await ask(cast))

    unknown = await cast.driver.send(cast.boss_chat, cast.boss, "/remove 不存在的文件")
    assert "没有名为《不存在的文件》的文件" in plain(unknown[0]) and "/docs" in plain(unknown[0])

    refused = await cast.driver.send(cast.group, cast.worker, f"/remove {TITLE}")
    assert "仅限管理员" in plain(refused[0])

    [confirm] = await cast.driver.send(cast.boss_chat, cast.boss, f"/remove 《{TITLE}》")
    assert f"确定删除《{TITLE}》吗？" in plain(confirm)
    buttons = cast.server.buttons(confirm)
    assert [label for label, _ in buttons] == ["确认删除", "取消"]
    assert all(len(data.encode()) <= 64 for _, data in buttons if data)
    assert cites(await ask(cast))  # nothing happens before the confirmation

    yes = buttons[0][1]
    assert yes is not None
    mark = cast.server.mark()
    await cast.driver.press(cast.boss, confirm, yes)
    # The press is answered at once; the removal (and the edit saying so) follows when it is done.
    await cast.server.wait_for("editMessageText", lambda p: p.get("message_id") == confirm.result["message_id"]
                               and "已删除" in p.get("text", ""), since=mark, timeout=60)
    shown = cast.server.find_message(cast.boss_chat.id, confirm.result["message_id"])
    assert shown is not None and f"已删除《{TITLE}》及其" in shown["text"]
    assert "reply_markup" not in shown  # the buttons are gone

    # A double tap that reached the bot anyway: told, not an error.
    mark = cast.server.mark()
    query_id = cast.server.callback_query(cast.boss, confirm, yes, check_button=False)
    await cast.server.wait_for("answerCallbackQuery", lambda p: p.get("callback_query_id") == query_id,
                               since=mark, timeout=20)
    assert "已删除" in cast.server.callback_answers[query_id].get("text", "")
    assert [c for c in cast.server.sent[mark:] if c.method in ("sendMessage", "editMessageText")] == []

    after = await ask(cast)
    assert not cites(after), plain(after)


# ---- without the bundled laws -----------------------------------------------------------------
async def test_non_admin_upload_is_refused_before_anything_is_downloaded(empty_bot: Cast) -> None:
    cast = empty_bot
    mark = cast.server.mark()
    cast.server.document_message(cast.group, cast.worker, regulation_docx(), "规定.docx", caption="/upload")
    [refusal] = await cast.driver.replies(cast.group, mark)
    assert "只有管理员可以上传" in plain(refusal)
    no_download(cast.server)


async def test_file_in_admin_chat_is_uploaded_and_garbled_passages_are_reported(empty_bot: Cast) -> None:
    cast = empty_bot
    paragraphs = ["第一条 动火作业前应当清理周边可燃物，并配备灭火器材。",
                  "第二条 鍔ㄧ伀浣滀笟鍓嶅簲褰撴竻鐞嗗懆杈瑰彲鐕冪墿锛屽苟閰嶅椾伐鍏枫€",
                  "第三条 动火作业结束后，监护人应当确认现场无遗留火种。"]
    _, final, _ = await send_file(cast, cast.admin_group, cast.deputy, docx_bytes(paragraphs), "某县动火作业管理办法.docx")
    text = plain(final)
    assert "已新增《某县动火作业管理办法》" in text
    assert "共 3 段：新增 2 段" in text  # the garbled passage is kept out of the index
    assert "发现 1 处问题" in text and "第二条" in text and "疑似乱码" in text

    # A text file that decodes to nothing readable: refused with the reader's advice.
    garbled = "第一条 \ufffd\ufffd浣犲ソ\ufffd\ufffd涓栫晫\ufffd\ufffd\n".encode() * 5
    _, failed, _ = await send_file(cast, cast.admin_group, cast.deputy, garbled, "乱码.txt")
    assert "《乱码.txt》未能入库" in plain(failed) and "UTF-8" in plain(failed)
    titles = [doc.title for doc, _ in await asyncio.to_thread(cast.driver.runtime.knowledge.list_documents)]
    assert titles == ["某县动火作业管理办法"]


async def test_oversize_file_is_refused_before_get_file(empty_bot: Cast) -> None:
    cast = empty_bot
    mark = cast.server.mark()
    cast.server.document_message(cast.boss_chat, cast.boss, b"%PDF-1.4 tiny", "年度报告.pdf",
                                 file_size=25 * 1024 * 1024)
    [refusal] = await cast.driver.replies(cast.boss_chat, mark)
    assert "25 MB" in plain(refusal) and "20 MB" in plain(refusal)
    no_download(cast.server)


async def test_files_shared_in_a_group_without_upload_are_ignored(empty_bot: Cast) -> None:
    cast = empty_bot
    mark = cast.server.mark()
    cast.server.document_message(cast.group, cast.worker, regulation_docx(), "会议纪要.docx")
    cast.server.document_message(cast.group, cast.boss, regulation_docx(), "通知.docx", caption="大家看一下")
    await cast.driver.silent(cast.group, mark, seconds=1.5)
    no_download(cast.server)


async def test_broken_rules_file_reports_the_rows_and_loads_nothing(empty_bot: Cast) -> None:
    cast = empty_bot
    runtime = cast.driver.runtime
    status, final, _ = await send_file(cast, cast.boss_chat, cast.boss, BROKEN_RULES.encode(), "职责规则.csv",
                                       caption="/rules")
    assert plain(status) == "已收到规则表《职责规则.csv》，正在校验…"
    text = plain(final)
    assert "规则表《职责规则.csv》未加载" in text
    assert "文件未加载" in text and "第2行" in text and "第3行" in text, text
    assert "不存在的层级" in text or "层级" in text.split("第3行", 1)[1]
    assert await asyncio.to_thread(runtime.duties.match, "动火作业审批") == []

    refused = await cast.driver.send(cast.group, cast.worker, "/rules")
    assert "仅限管理员" in plain(refused[0])

    # A table someone shared in the group (ignored), then /rules as a reply to it.
    shared = cast.server.document_message(cast.group, cast.worker, BROKEN_RULES.encode(), "规则草稿.csv")
    mark = cast.server.mark()
    cast.server.user_message(cast.group, cast.boss, "/rules", reply_to=shared)
    again = await cast.server.wait_for(
        "editMessageText", lambda p: "规则表《规则草稿.csv》未加载" in p.get("text", ""), since=mark, timeout=30)
    assert "第3行" in plain(again)


async def test_issuecode_only_in_private_and_the_code_binds(empty_bot: Cast) -> None:
    cast = empty_bot
    in_group = await cast.driver.send(cast.group, cast.boss, "/issuecode 张三")
    assert "私聊" in plain(in_group[0])
    refused = await cast.driver.send(cast.group, cast.worker, "/issuecode 张三")
    assert "仅限管理员" in plain(refused[0])

    unknown = await cast.driver.send(cast.boss_chat, cast.boss, "/issuecode 无名氏")
    assert "未找到人员“无名氏”" in plain(unknown[0])

    [reply] = await cast.driver.send(cast.boss_chat, cast.boss, "/issuecode 张三")
    text = plain(reply)
    assert "/bind" in text and "24 小时" in text
    code = text.split("/bind ", 1)[1].split()[0]
    assert len(code) == 8
    assert all(code not in c.params.get("text", "") for c in cast.server.calls(chat_id=cast.group.id))

    zhang = cast.server.user("张三", "zhangsan")
    zhang_chat = cast.server.private_chat(zhang)
    bound = await cast.driver.send(zhang_chat, zhang, f"/bind {code}")
    assert "绑定成功" in plain(bound[0]) and "张三" in plain(bound[0])
    actor = await asyncio.to_thread(cast.driver.runtime.ledger.actor_for_chat, zhang.id)
    assert actor is not None and actor.name == "张三"


# ---- the status message itself ----------------------------------------------------------------
async def test_status_message_edits_from_a_worker_thread_are_throttled(tg_server: FakeTelegram) -> None:
    user = tg_server.user("王主任")
    chat = tg_server.private_chat(user)
    async with Bot(tg_server.token, base_url=tg_server.base_url) as bot:
        message = await bot.send_message(chat.id, "已收到《a.docx》，正在下载…")
        now = [0.0]
        status = StatusMessage(message, "《a.docx》：", clock=lambda: now[0])

        def worker() -> None:
            for done in range(1, 21):  # 20 reports over 10 (fake) seconds
                now[0] += 0.5
                status.progress("向量化", done, 20)

        mark = tg_server.mark()
        thread = threading.Thread(target=worker)
        thread.start()
        await asyncio.to_thread(thread.join)
        await status.show("正在写入索引…")
        await status.show("正在写入索引…")  # "message is not modified": quietly ignored
        await status.finish(["<b>完成</b>", "共 5 段"])

    edits = [c for c in tg_server.sent[mark:] if c.method == "editMessageText"]
    progress_edits = [c for c in edits if "向量化" in c.params["text"]]
    assert 1 <= len(progress_edits) <= 6  # at most one per 1.5 s of the 10 s
    assert all(c.params["message_id"] == message.message_id for c in edits)
    assert edits[-1].ok and plain(edits[-1]) == "完成\n共 5 段"
    assert [c.ok for c in edits].count(False) == 1  # the repeated text, and nothing else
