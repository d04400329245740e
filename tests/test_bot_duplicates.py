"""End to end (SQLite and PostgreSQL): an upload that duplicates a loaded document is refused with
a choice, and an admin replaces the other document, keeps both or cancels with a button press."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from bot_support import BotDriver, bot_settings, plain, running_bot
from fake_telegram import ApiCall, FakeChat, FakeTelegram, FakeUser
from sqlalchemy import select, update

from bot.telegram_bot.uploads.duplicates import EXPIRED_LONG_AGO
from bot.telegram_bot.uploads.text import NOT_ADMIN_UPLOAD
from knowledge.config import Settings
from knowledge.db import transaction
from knowledge.models import AuditLog, PendingUpload, utcnow
from knowledge.pending_uploads import HOLD_DAYS

pytestmark = pytest.mark.slow

ORIGINAL = "某市有限空间作业安全管理办法"
COPY = "转发-有限空间作业办法"
SECOND_COPY = "有限空间办法（再次转发）"
TEXT = (
    "第一条 为了加强有限空间作业安全管理，预防中毒窒息事故，制定本办法。\n"
    "第二条 有限空间作业应当严格执行“先通风、再检测、后作业”的要求，未经检测合格不得进入。\n"
    "第三条 有限空间作业现场应当设置专人监护，监护人员不得离开作业现场，每三十分钟至少与作业人员联络一次。\n"
    "第四条 作业单位应当为作业人员配备正压式空气呼吸器和安全绳等应急救援装备。\n"
    "第五条 违反本办法第三条，未设置专人监护的，由应急管理部门责令限期改正，处五千元以上二万元以下罚款。\n"
)
QUESTION = "有限空间作业监护人员多久与作业人员联络一次？"
EXPIRED = "按钮已失效。"


@dataclass
class Cast:
    server: FakeTelegram
    settings: Settings
    boss: FakeUser  # configured admin
    deputy: FakeUser  # administrator of the admin chat
    worker: FakeUser  # ordinary group member
    group: FakeChat  # an allowed work group
    admin_group: FakeChat
    boss_chat: FakeChat


@pytest.fixture
def cast(tg_server: FakeTelegram, settings: Settings, tmp_path: Path, models_dir: Path) -> Cast:
    boss = tg_server.user("王主任", "wang_boss")
    deputy = tg_server.user("赵副主任", "zhao_deputy")
    worker = tg_server.user("小李", "xiaoli")
    group = tg_server.group_chat("安委办工作群", admins=[boss])
    admin_group = tg_server.group_chat("安全管理员群", admins=[deputy])
    bot = bot_settings(tg_server, tmp_path / "bot", models_dir, database_url=settings.database_url,
                       load_bundled=False, admin_ids=[boss.id], allowed_chats=[group.id], admin_chat=admin_group.id)
    return Cast(tg_server, bot, boss, deputy, worker, group, admin_group, tg_server.private_chat(boss))


@pytest.fixture
async def driver(cast: Cast, embedder) -> AsyncIterator[BotDriver]:  # type: ignore[no-untyped-def]
    async with running_bot(cast.server, cast.settings, embedder=embedder) as running:
        yield running


async def upload(cast: Cast, chat: FakeChat, user: FakeUser, name: str, text: str = TEXT,
                 caption: str | None = None) -> ApiCall:
    """Sends a file; returns the status message's final edit."""
    server = cast.server
    mark = server.mark()
    server.document_message(chat, user, text.encode("utf-8"), name, caption=caption)
    status = await server.wait_for("sendMessage", lambda p: p.get("chat_id") == chat.id, since=mark, timeout=30)
    final = await server.wait_for(
        "editMessageText",
        lambda p: p.get("message_id") == status.result["message_id"] and not str(p.get("text", "")).endswith("…"),
        since=mark, timeout=120)
    await asyncio.sleep(0.3)
    return final


async def press(cast: Cast, user: FakeUser, message: ApiCall, data: str, *,
                edits: bool = True) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``user`` presses the button with ``data`` under ``message`` (shown now, or earlier: a stale
    tap); returns the callback answer and, when the press ``edits`` the message, the message once
    the bot is done with it. A press that should change nothing is checked to send nothing."""
    server = cast.server
    assert len(data.encode()) <= 64
    chat_id, message_id = message.result["chat"]["id"], message.result["message_id"]
    mark = server.mark()
    query_id = server.callback_query(user, message, data, check_button=False)
    await server.wait_for("answerCallbackQuery", lambda p: p.get("callback_query_id") == query_id,
                          since=mark, timeout=20)
    edited = None
    if edits:  # the last edit is not a progress step ("正在…")
        await server.wait_for("editMessageText", lambda p: p.get("message_id") == message_id
                              and not str(p.get("text", "")).endswith("…"), since=mark, timeout=120)
    await asyncio.sleep(0.3)
    if edits:
        edited = server.find_message(chat_id, message_id)
    else:
        assert [c for c in server.sent[mark:] if c.method in ("sendMessage", "editMessageText")] == []
    return server.callback_answers[query_id], edited


def buttons(cast: Cast, message: ApiCall) -> dict[str, str]:
    """label -> callback data of the buttons ``message`` shows now."""
    return {label: data for label, data in cast.server.buttons(message) if data is not None}


async def titles(driver: BotDriver) -> list[str]:
    return sorted(doc.title for doc, _ in await asyncio.to_thread(driver.runtime.knowledge.list_documents))


async def cited(cast: Cast, driver: BotDriver) -> str:
    [reply, *_] = await driver.send(cast.boss_chat, cast.boss, QUESTION)
    return plain(reply)


def audit(driver: BotDriver, action: str) -> list[AuditLog]:
    with driver.runtime.sessions() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def actor_of(user: FakeUser) -> str:
    return f"telegram:{user.id} {user.first_name}"


async def test_duplicate_is_refused_with_a_choice_and_replace_takes_the_old_ones_place(
        cast: Cast, embedder) -> None:  # type: ignore[no-untyped-def]
    async with running_bot(cast.server, cast.settings, embedder=embedder) as driver:
        first = await upload(cast, cast.admin_group, cast.deputy, f"{ORIGINAL}.txt")
        assert f"已新增《{ORIGINAL}》" in plain(first)
        assert f"《{ORIGINAL}》" in await cited(cast, driver)

        refused = await upload(cast, cast.group, cast.boss, "转发.txt", caption=f"/upload {COPY}")
        text = plain(refused)
        assert "《转发.txt》未能入库" in text and f"内容与已收录的《{ORIGINAL}》相同" in text, text
        assert "--duplicate" not in text
        choice = buttons(cast, refused)
        assert list(choice) == [f"替换原文档《{ORIGINAL}》", "两份都保留", "取消"]
        assert await titles(driver) == [ORIGINAL]
        downloads = len(cast.server.downloads)

    # The choice survives a restart: nothing but the database carries it.
    async with running_bot(cast.server, cast.settings, embedder=embedder) as driver:
        answer, _ = await press(cast, cast.worker, refused, choice[f"替换原文档《{ORIGINAL}》"], edits=False)
        assert answer["text"] == NOT_ADMIN_UPLOAD and answer["show_alert"] is True
        assert await titles(driver) == [ORIGINAL]

        answer, edited = await press(cast, cast.boss, refused, choice[f"替换原文档《{ORIGINAL}》"])
        assert answer["text"] == "正在载入…"
        assert edited is not None
        assert f"已新增《{COPY}》" in edited["text"] and f"原文档《{ORIGINAL}》已删除" in edited["text"], edited["text"]
        assert "reply_markup" not in edited  # the choice is made; its buttons are gone
        assert len(cast.server.downloads) == downloads + 1  # fetched again by its file_id
        assert await titles(driver) == [COPY]
        assert f"《{COPY}》" in await cited(cast, driver)

        # The decision, the new document and the removal of the old one are all the presser's.
        [decision] = audit(driver, "upload.duplicate_decision")
        assert (decision.actor, decision.detail["decision"]) == (actor_of(cast.boss), "replace")
        assert [(e.object_id, e.actor) for e in audit(driver, "document.add")][-1] == (COPY, actor_of(cast.boss))
        assert [(e.object_id, e.actor) for e in audit(driver, "document.remove")] == [(ORIGINAL, actor_of(cast.boss))]

        # Second taps that reached the bot anyway change nothing.
        for label in (f"替换原文档《{ORIGINAL}》", "两份都保留"):
            answer, _ = await press(cast, cast.boss, refused, choice[label], edits=False)
            assert answer["text"] == EXPIRED
        assert await titles(driver) == [COPY]
        assert len(audit(driver, "upload.duplicate_decision")) == 1


async def test_keep_both_and_cancel(cast: Cast, driver: BotDriver) -> None:
    await upload(cast, cast.boss_chat, cast.boss, f"{ORIGINAL}.txt")
    # A near copy (one sentence edited) under another name, sent in the admin chat without a command.
    near = TEXT.replace("五千元以上", "六千元以上")
    refused = await upload(cast, cast.admin_group, cast.deputy, f"{COPY}.txt", near)
    assert f"内容与已收录的《{ORIGINAL}》几乎相同（相似度" in plain(refused), plain(refused)

    # The file cannot be fetched at the first press: the choice is offered again, the old buttons are void.
    first_choice = buttons(cast, refused)
    cast.server.fail_next("getFile", 400, description="Bad Request: file is temporarily unavailable")
    _, edited = await press(cast, cast.deputy, refused, first_choice["两份都保留"])  # an admin-chat admin
    assert edited is not None and "文件下载失败，请稍后再点一次按钮" in edited["text"], edited["text"]
    assert await titles(driver) == [ORIGINAL]
    retry = buttons(cast, refused)
    assert list(retry) == list(first_choice) and set(retry.values()).isdisjoint(first_choice.values())
    answer, _ = await press(cast, cast.deputy, refused, first_choice["两份都保留"], edits=False)
    assert answer["text"] == EXPIRED

    _, edited = await press(cast, cast.deputy, refused, retry["两份都保留"])
    assert edited is not None and f"已新增《{COPY}》" in edited["text"]
    assert f"与《{ORIGINAL}》内容相同，两份都已保留" in edited["text"], edited["text"]
    assert await titles(driver) == sorted([ORIGINAL, COPY])
    assert [e.actor for e in audit(driver, "document.add")] == [actor_of(cast.boss), actor_of(cast.deputy)]

    again = await upload(cast, cast.boss_chat, cast.boss, f"{SECOND_COPY}.txt")
    choice = buttons(cast, again)
    assert "未能入库" in plain(again) and len(choice) == 3
    answer, edited = await press(cast, cast.boss, again, choice["取消"])
    assert answer["text"] == "已取消"
    assert edited is not None and f"已取消：《{SECOND_COPY}.txt》未载入" in edited["text"]
    assert "reply_markup" not in edited
    assert await titles(driver) == sorted([ORIGINAL, COPY])
    # Every press that decided is on record, and so is the attempt that failed.
    assert [e.detail["decision"] for e in audit(driver, "upload.duplicate_decision")] == ["keep", "keep", "cancel"]
    assert [e.actor for e in audit(driver, "upload.duplicate_reopen")] == [actor_of(cast.deputy)]

    # The buttons of a decided upload stay dead, whichever is pressed.
    for data in choice.values():
        answer, _ = await press(cast, cast.boss, again, data, edits=False)
        assert answer["text"] == EXPIRED
    assert await titles(driver) == sorted([ORIGINAL, COPY])


async def test_a_choice_about_a_document_that_changed_meanwhile_is_stale(cast: Cast, driver: BotDriver) -> None:
    await upload(cast, cast.boss_chat, cast.boss, f"{ORIGINAL}.txt")
    refused = await upload(cast, cast.boss_chat, cast.boss, f"{COPY}.txt")
    choice = buttons(cast, refused)
    # Meanwhile the original is re-uploaded with a new article under its own title.
    changed = await upload(cast, cast.boss_chat, cast.boss, f"{ORIGINAL}.txt", TEXT + "第六条 本办法自发布之日起施行。\n")
    assert f"已用新版本替换《{ORIGINAL}》" in plain(changed)

    answer, edited = await press(cast, cast.boss, refused, choice["两份都保留"])
    assert answer["text"] == EXPIRED
    assert edited is not None and f"《{ORIGINAL}》在此期间已被修改或删除" in edited["text"], edited["text"]
    assert "reply_markup" not in edited
    assert await titles(driver) == [ORIGINAL]
    assert audit(driver, "upload.duplicate_decision") == []
    # Later taps on the same buttons are stale too.
    answer, _ = await press(cast, cast.boss, refused, choice[f"替换原文档《{ORIGINAL}》"], edits=False)
    assert answer["text"] == EXPIRED
    assert await titles(driver) == [ORIGINAL]

    # A choice left for longer than uploads are held is void too.
    old = await upload(cast, cast.boss_chat, cast.boss, f"{SECOND_COPY}.txt")
    with transaction(driver.runtime.sessions) as session:
        session.execute(update(PendingUpload).values(created_at=utcnow() - timedelta(days=HOLD_DAYS + 1)))
    answer, _ = await press(cast, cast.boss, old, buttons(cast, old)["两份都保留"], edits=False)
    assert answer["text"] == EXPIRED_LONG_AGO
    assert await titles(driver) == [ORIGINAL]
