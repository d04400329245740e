"""The fake Telegram server against the real python-telegram-bot client.

A small PTB Application (echo with escaped HTML, a too-long reply, broken HTML, buttons, files)
runs against the fake over HTTP exactly as it would against api.telegram.org.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import io
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
import PIL.Image
import pytest
from fake_telegram import FakeTelegram, HtmlParseError, parse_html
from fake_telegram.plugin import tg_server  # noqa: F401  (fixture)
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChatAdministrators,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

# ---- a small real bot -------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(f"你说：<b>{html.escape(message.text)}</b>", parse_mode=ParseMode.HTML)


async def too_long(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("长" * 4097)


async def bad_html(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_html("<b>未闭合的标签")


async def buttons(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认", callback_data="confirm:7")]])
    await update.effective_message.reply_text("请确认隐患 7", reply_markup=keyboard)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("已确认")
    await query.edit_message_text(f"已处理 <code>{html.escape(query.data or '')}</code>",
                                  parse_mode=ParseMode.HTML)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    tg_file = await message.document.get_file()
    data = bytes(await tg_file.download_as_bytearray())
    await message.reply_document(
        document=data.upper(), filename=f"upper-{message.document.file_name}",
        caption=f"收到 {len(data)} 字节",
    )


def build_app(server: FakeTelegram, *, rate_limiter: AIORateLimiter | None = None) -> Application:
    builder = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    app.add_handler(CommandHandler("long", too_long))
    app.add_handler(CommandHandler("badhtml", bad_html))
    app.add_handler(CommandHandler("buttons", buttons))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    errors: asyncio.Queue[BaseException] = asyncio.Queue()

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        errors.put_nowait(context.error)

    app.add_error_handler(on_error)
    app.bot_data["errors"] = errors
    return app


@contextlib.asynccontextmanager
async def polling(
    server: FakeTelegram, *, rate_limiter: AIORateLimiter | None = None
) -> AsyncIterator[Application]:
    app = build_app(server, rate_limiter=rate_limiter)
    await app.initialize()
    try:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()
    finally:
        await app.shutdown()


async def next_error(app: Application, timeout: float = 5.0) -> BaseException:
    return await asyncio.wait_for(app.bot_data["errors"].get(), timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the HTML checker on its own ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text", "entity_types"),
    [
        ("<b>粗</b><strong>体</strong>", "粗体", ["bold", "bold"]),
        ("<i>a</i><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>",
         "abcdefg", ["italic", "italic", "underline", "underline", "strikethrough",
                     "strikethrough", "strikethrough"]),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy",
         ["spoiler", "spoiler"]),
        ('<a href="https://example.org/?a=1&amp;b=2">链接</a>', "链接", ["text_link"]),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", ["pre"]),
        ("<blockquote expandable>引文</blockquote><blockquote>b</blockquote>", "引文b",
         ["expandable_blockquote", "blockquote"]),
        ("&lt;b&gt; &amp; &quot;q&quot; &#20013;&#x6587; A & B &nbsp;",
         '<b> & "q" 中文 A & B &nbsp;', []),
    ],
)
def test_html_accepts_what_telegram_accepts(
    source: str, text: str, entity_types: list[str]
) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [e["type"] for e in parsed.entities] == entity_types


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("3 < 5", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br"'),
        ("<b>未闭合", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a", "Unclosed start tag"),
        ("<i><b>x</i></b>", "Unmatched end tag"),
    ],
)
def test_html_rejects_what_telegram_rejects(source: str, error: str) -> None:
    with pytest.raises(HtmlParseError, match=None) as info:
        parse_html(source)
    assert error in str(info.value)


def test_html_entity_offsets_are_utf16() -> None:
    parsed = parse_html("😀 <b>安全</b>")
    assert parsed.entities == [{"offset": 3, "length": 2, "type": "bold"}]


# ---- Bot API over HTTP ----------------------------------------------------------------------


async def test_get_me_identifies_the_bot(tg_server: FakeTelegram) -> None:
    async with Bot(tg_server.token, base_url=tg_server.base_url) as bot:
        me = await bot.get_me()
    assert me.is_bot and me.username == "safety_test_bot"
    assert me.id == int(tg_server.token.split(":")[0])
    assert me.can_read_all_group_messages is True  # privacy mode off unless asked for
    assert tg_server.calls("getMe")


async def test_privacy_mode_delivers_only_addressed_group_messages(
    tg_server: FakeTelegram,
) -> None:
    tg_server.privacy_mode = True
    user = tg_server.user("陈工")
    group = tg_server.group_chat("车间群", type="group")
    async with Bot(tg_server.token, base_url=tg_server.base_url) as bot:
        assert (await bot.get_me()).can_read_all_group_messages is False
        notice = await bot.send_message(group.id, "今日检查通知")
        tg_server.user_message(group, user, "大家午饭吃什么")  # not for the bot
        tg_server.user_message(group, user, "/ask 动火作业")
        tg_server.user_message(group, user, "@safety_test_bot 谁负责消防")
        tg_server.user_message(group, user, "收到", reply_to=notice.message_id)
        updates = await bot.get_updates(timeout=0)
    texts = [u.message.text for u in updates if u.message]
    assert texts == ["/ask 动火作业", "@safety_test_bot 谁负责消防", "收到"]
    reply = updates[-1].message
    assert reply is not None and reply.reply_to_message is not None
    assert reply.reply_to_message.from_user is not None
    assert reply.reply_to_message.from_user.is_bot
    assert [m["text"] for m in tg_server.messages(group)][1] == "大家午饭吃什么"
    assert updates[0].message is not None and updates[0].message.chat.type == "group"


async def test_photos_and_captions(tg_server: FakeTelegram) -> None:
    user = tg_server.user("冯工")
    chat = tg_server.private_chat(user)
    png = io.BytesIO()
    PIL.Image.new("RGB", (64, 32), "red").save(png, format="PNG")
    jpeg = io.BytesIO()
    PIL.Image.new("RGB", (20, 10), "blue").save(jpeg, format="JPEG")
    async with Bot(tg_server.token, base_url=tg_server.base_url,
                   base_file_url=tg_server.base_file_url) as bot:
        chart = await bot.send_photo(chat.id, png.getvalue(), caption="<b>单位排名</b>",
                                     parse_mode=ParseMode.HTML)
        assert (chart.photo[-1].width, chart.photo[-1].height) == (64, 32)
        assert chart.caption == "单位排名" and chart.caption_entities[0].type == "bold"
        photo = await bot.send_photo(chat.id, jpeg.getvalue())
        assert (photo.photo[-1].width, photo.photo[-1].height) == (20, 10)
        with pytest.raises(BadRequest, match="(?i)image_process_failed"):
            await bot.send_photo(chat.id, b"not an image")
        with pytest.raises(BadRequest, match="(?i)message caption is too long"):
            await bot.send_photo(chat.id, png.getvalue(), caption="图" * 1025)
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_photo(chat.id, png.getvalue(), caption="a < b",
                                 parse_mode=ParseMode.HTML)

        evidence = tg_server.photo_message(chat, user, jpeg.getvalue(), caption="整改后照片")
        updates = await bot.get_updates(timeout=0)
        message = updates[-1].message
        assert message is not None and message.caption == "整改后照片"
        assert message.photo[-1].file_id == evidence["photo"][-1]["file_id"]
        tg_file = await message.photo[-1].get_file()
        assert bytes(await tg_file.download_as_bytearray()) == jpeg.getvalue()


async def test_unknown_method_and_wrong_token(tg_server: FakeTelegram) -> None:
    async with Bot(tg_server.token, base_url=tg_server.base_url) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendHologram", api_kwargs={"chat_id": 1})
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{tg_server.base_url}{tg_server.token}/nope") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404,
                                         "description": "Not Found"}
    wrong = Bot("42:wrong-token", base_url=tg_server.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()


async def test_json_form_and_query_bodies(tg_server: FakeTelegram) -> None:
    user = tg_server.user("褚工")
    chat = tg_server.private_chat(user)
    api = f"{tg_server.base_url}{tg_server.token}"
    markup = {"inline_keyboard": [[{"text": "查看原文", "callback_data": "law:41"}]]}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{api}/getMe?x=1") as resp:
            assert (await resp.json())["result"]["is_bot"] is True
        json_body = {"chat_id": chat.id, "text": "<i>JSON</i>", "parse_mode": "HTML",
                     "reply_markup": markup}
        async with session.post(f"{api}/sendMessage", json=json_body) as resp:
            sent_json = (await resp.json())["result"]
        form_body = {"chat_id": str(chat.id), "text": "表单", "reply_markup": json.dumps(markup)}
        async with session.post(f"{api}/sendMessage", data=form_body) as resp:
            sent_form = (await resp.json())["result"]
        too_big = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}
        async with session.post(f"{api}/sendMessage", json={
            "chat_id": chat.id, "text": "x", "reply_markup": too_big}) as resp:
            assert resp.status == 400
            assert (await resp.json())["description"] == "Bad Request: BUTTON_DATA_INVALID"
    assert sent_json["text"] == "JSON" and sent_json["entities"][0]["type"] == "italic"
    assert sent_json["reply_markup"] == sent_form["reply_markup"] == markup
    assert tg_server.buttons(sent_form) == [("查看原文", "law:41")]
    assert [c.params["chat_id"] for c in tg_server.calls("sendMessage")] == [chat.id, chat.id]


async def test_long_polling_offset_timeout_and_prompt_wakeup(tg_server: FakeTelegram) -> None:
    user = tg_server.user("李工", "li_gong")
    chat = tg_server.private_chat(user)
    async with Bot(tg_server.token, base_url=tg_server.base_url) as bot:
        assert await bot.get_updates(timeout=0) == ()

        loop = asyncio.get_running_loop()
        started = loop.time()
        poll = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        tg_server.user_message(chat, user, "你好")
        updates = await poll
        assert loop.time() - started < 1.0  # woke on the injection, not on the timeout
        assert [u.message.text for u in updates if u.message] == ["你好"]

        again = await bot.get_updates(timeout=0)  # not confirmed yet: delivered again
        assert [u.update_id for u in again] == [updates[0].update_id]
        assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()

        started = loop.time()
        assert await bot.get_updates(timeout=1) == ()
        assert loop.time() - started >= 0.9

        # A second instance of the bot polling at the same time ends the first one's poll.
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.1)
        async with Bot(tg_server.token, base_url=tg_server.base_url) as other:
            assert await other.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first


async def test_echo_reply_via_long_polling(tg_server: FakeTelegram) -> None:
    boss = tg_server.user("王主任", "wang_zr")
    worker = tg_server.user("张三", "zhangsan")
    group = tg_server.group_chat("安全生产群", admins=[boss])
    async with polling(tg_server):
        sent = tg_server.user_message(group, worker, "<b>加粗</b> & 更多 @safety_test_bot")
        call = await tg_server.wait_for("sendMessage", lambda p: p["chat_id"] == group.id)
    typed = "<b>加粗</b> & 更多 @safety_test_bot"
    assert call.params["text"] == f"你说：<b>{html.escape(typed)}</b>"
    assert call.result["text"] == f"你说：{typed}"  # what the user sees
    assert call.result["entities"] == [{"offset": 3, "length": len(typed), "type": "bold"}]
    assert call.params["reply_parameters"]["message_id"] == sent["message_id"]
    assert sent["entities"] == [{"type": "mention", "offset": 15, "length": 16}]


async def test_invalid_html_and_too_long_raise_bad_request(tg_server: FakeTelegram) -> None:
    user = tg_server.user("赵六")
    chat = tg_server.private_chat(user)
    async with polling(tg_server) as app:
        tg_server.user_message(chat, user, "/badhtml")
        error = await next_error(app)
        assert isinstance(error, BadRequest)
        assert "can't parse entities" in error.message.lower()

        tg_server.user_message(chat, user, "/long")
        error = await next_error(app)
        assert isinstance(error, BadRequest)
        assert error.message.lower() == "message is too long"

        # The limit counts text after entity parsing: 4096 "&lt;" are 4096 characters.
        ok = await app.bot.send_message(chat.id, "&lt;" * 4096, parse_mode=ParseMode.HTML)
        assert ok.text == "<" * 4096
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await app.bot.send_message(chat.id, "&lt;" * 4097, parse_mode=ParseMode.HTML)
    failed = tg_server.calls("sendMessage", ok_only=False)
    assert [c.status for c in failed] == [400, 400, 200, 400]


async def test_429_is_retried_by_the_rate_limiter(tg_server: FakeTelegram) -> None:
    user = tg_server.user("钱七")
    chat = tg_server.private_chat(user)
    tg_server.fail_next("sendMessage", 429, retry_after=1)
    loop = asyncio.get_running_loop()
    async with polling(tg_server, rate_limiter=AIORateLimiter(max_retries=2)) as app:
        started = loop.time()
        tg_server.user_message(chat, user, "限流测试")
        call = await tg_server.wait_for("sendMessage", timeout=5)
        assert loop.time() - started >= 1.0  # waited retry_after before retrying
        assert app.bot_data["errors"].empty()
    attempts = tg_server.calls("sendMessage", ok_only=False)
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[0].response["parameters"] == {"retry_after": 1}
    assert attempts[0].params["text"] == call.params["text"] == "你说：<b>限流测试</b>"


async def test_429_without_rate_limiter_surfaces_retry_after(tg_server: FakeTelegram) -> None:
    user = tg_server.user("孙八")
    chat = tg_server.private_chat(user)
    tg_server.fail_next("sendMessage", 429, retry_after=3)
    async with polling(tg_server) as app:
        tg_server.user_message(chat, user, "无重试")
        error = await next_error(app)
    assert isinstance(error, RetryAfter)
    assert "retry in 3" in str(error).lower()
    assert [c.status for c in tg_server.calls("sendMessage", ok_only=False)] == [429]


async def test_5xx_on_get_updates_is_retried_and_on_send_surfaces(
    tg_server: FakeTelegram,
) -> None:
    user = tg_server.user("周九")
    chat = tg_server.private_chat(user)
    tg_server.fail_next("getUpdates", 502)
    tg_server.user_message(chat, user, "网关故障后仍送达")
    async with polling(tg_server) as app:
        await tg_server.wait_for("sendMessage", timeout=5)
        tg_server.fail_next("sendMessage", 500)
        tg_server.user_message(chat, user, "发送失败")
        error = await next_error(app)
    polls = [c.status for c in tg_server.requests if c.method == "getUpdates"]
    assert polls[0] == 502 and 200 in polls[1:]
    assert isinstance(error, NetworkError) and "Internal Server Error" in error.message


async def test_file_upload_download_round_trip(tg_server: FakeTelegram) -> None:
    admin = tg_server.user("管理员", "admin_user")
    chat = tg_server.private_chat(admin)
    content = "第一条 为了加强安全生产工作 abc\n".encode()
    async with polling(tg_server) as app:
        tg_server.document_message(chat, admin, content, "规定.txt", "text/plain")
        reply = await tg_server.wait_for("sendDocument", timeout=5)
        stored = reply.result["document"]
        assert tg_server.file_data(stored["file_id"]) == content.upper()
        assert stored["file_name"] == "upper-规定.txt"
        assert reply.result["caption"] == f"收到 {len(content)} 字节"
        assert len(tg_server.downloads) == 1  # the bot fetched the user's file over HTTP

        payload = bytes(range(256)) * 40
        message = await app.bot.send_document(chat.id, payload, filename="数据.bin")
        assert message.document is not None and message.document.file_size == len(payload)
        tg_file = await app.bot.get_file(message.document.file_id)
        buffer = io.BytesIO()
        await tg_file.download_to_memory(buffer)
        assert buffer.getvalue() == payload

        # A declared 25 MB file (4 real bytes): getFile refuses it like Telegram's 20 MB limit.
        huge = tg_server.document_message(
            chat, admin, b"PK\x03\x04", "大文件.docx", file_size=25 * 1024 * 1024
        )
        assert huge["document"]["file_size"] == 25 * 1024 * 1024
        refused = await tg_server.wait_for("getFile", status=400, timeout=5)
        assert refused.params["file_id"] == huge["document"]["file_id"]
        assert refused.response["description"] == "Bad Request: file is too big"
        error = await next_error(app)
        assert isinstance(error, BadRequest) and error.message == "File is too big"
    assert len(tg_server.downloads) == 2  # the user's file and the bot's own upload


async def test_buttons_callbacks_and_edits(tg_server: FakeTelegram) -> None:
    user = tg_server.user("吴十")
    chat = tg_server.private_chat(user)
    async with polling(tg_server) as app:
        tg_server.user_message(chat, user, "/buttons")
        offer = await tg_server.wait_for("sendMessage", timeout=5)
        query_id = tg_server.callback_query(user, offer, "confirm:7")
        edit = await tg_server.wait_for("editMessageText", timeout=5)
        assert tg_server.callback_answers[query_id]["text"] == "已确认"
        assert edit.result["text"] == "已处理 confirm:7"
        assert "reply_markup" not in edit.result  # an edit without markup drops the keyboard
        with pytest.raises(ValueError, match="no button"):
            tg_server.callback_query(user, offer, "confirm:7")
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await app.bot.edit_message_text(
                "已处理 <code>confirm:7</code>", chat.id, offer.result["message_id"],
                parse_mode=ParseMode.HTML,
            )
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await app.bot.answer_callback_query(query_id)


async def test_commands_admins_and_members(tg_server: FakeTelegram) -> None:
    owner = tg_server.user("局长")
    admin = tg_server.user("科长")
    member = tg_server.user("科员")
    group = tg_server.group_chat("管理群", admins=[admin], creator=owner)
    tg_server.user_message(group, member, "大家好")
    async with Bot(tg_server.token, base_url=tg_server.base_url) as bot:
        await bot.set_my_commands([BotCommand("ask", "提问")])
        await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("bind", "绑定")],
                                  scope=BotCommandScopeAllPrivateChats())
        await bot.set_my_commands([BotCommand("upload", "上传文件")],
                                  scope=BotCommandScopeChatAdministrators(group.id))
        assert tg_server.commands_for("default") == [{"command": "ask", "description": "提问"}]
        assert [c["command"] for c in tg_server.commands_for("all_private_chats") or []] == [
            "start", "bind"]
        scoped = await bot.get_my_commands(scope=BotCommandScopeChatAdministrators(group.id))
        assert [c.command for c in scoped] == ["upload"]
        await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
        assert tg_server.commands_for("all_private_chats") is None
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([BotCommand("Bad-Name", "x")])

        admins = await bot.get_chat_administrators(group.id)
        assert [(type(a), a.user.id) for a in admins] == [
            (ChatMemberOwner, owner.id), (ChatMemberAdministrator, admin.id)]
        assert (await bot.get_chat_member(group.id, member.id)).status == "member"
        assert (await bot.get_chat_member(group.id, admin.id)).status == "administrator"
        with pytest.raises(BadRequest, match="no administrators in the private chat"):
            await bot.get_chat_administrators(tg_server.private_chat(member).id)
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(-999, "x")
        assert await bot.send_chat_action(group.id, "typing") is True


async def test_webhook_mode_receives_updates(tg_server: FakeTelegram) -> None:
    user = tg_server.user("郑十一")
    chat = tg_server.private_chat(user)
    port = free_port()
    public = "https://bot.example.test"
    tg_server.proxy_webhook(public, f"http://127.0.0.1:{port}")
    app = build_app(tg_server)
    async with app:
        with pytest.raises(BadRequest, match="(?i)HTTPS URL must be provided"):
            await app.bot.set_webhook("http://127.0.0.1:8080/tg")
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="tg", webhook_url=f"{public}/tg",
            secret_token="s3cret-token",
        )
        await app.start()
        try:
            info = await app.bot.get_webhook_info()
            assert info.url == f"{public}/tg"
            with pytest.raises(Conflict, match="webhook is active"):
                await app.bot.get_updates(timeout=0)

            # Telegram-style delivery of an injected update to the registered webhook.
            tg_server.user_message(chat, user, "经由 webhook")
            call = await tg_server.wait_for("sendMessage", timeout=5)
            assert call.params["text"] == "你说：<b>经由 webhook</b>"

            # A hand-made post: the wrong secret is refused by PTB, the right one accepted.
            update = {"message": {"message_id": 99, "date": 0, "chat": chat.to_dict(),
                                  "from": user.to_dict(), "text": "手动投递"}}
            url = f"{public}/tg"
            assert await tg_server.post_webhook(url, update, secret_token="wrong") == 403
            assert await tg_server.post_webhook(url, update, secret_token="s3cret-token") == 200
            call = await tg_server.wait_for(
                "sendMessage", lambda p: "手动投递" in p["text"], timeout=5)
            assert tg_server.webhook is not None
            assert all(status == 200 for _, status in tg_server.webhook.deliveries)
        finally:
            await app.updater.stop()
            await app.stop()


async def test_webhook_delivery_failures_are_reported(tg_server: FakeTelegram) -> None:
    user = tg_server.user("卫工")
    chat = tg_server.private_chat(user)
    tg_server.proxy_webhook("https://down.example.test", f"http://127.0.0.1:{free_port()}")
    async with Bot(tg_server.token, base_url=tg_server.base_url) as bot:
        await bot.set_webhook("https://down.example.test/hook", secret_token="abc")
        tg_server.user_message(chat, user, "没人接收")
        hook = tg_server.webhook
        assert hook is not None
        for _ in range(100):
            if hook.deliveries:
                break
            await asyncio.sleep(0.02)
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 1  # kept for a later retry
        assert info.last_error_message is not None
        assert info.last_error_message.startswith("Connection failed")
        await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates(timeout=0) == ()


async def test_server_stops_cleanly() -> None:
    server = FakeTelegram()
    await server.start()
    try:
        async with Bot(server.token, base_url=server.base_url) as bot:
            assert (await bot.get_me()).is_bot
            loop = asyncio.get_running_loop()
            poll = asyncio.create_task(bot.get_updates(timeout=30))
            await asyncio.sleep(0.1)
            started = loop.time()
            await server.stop()
            # A pending long poll ends when the server stops instead of keeping it alive.
            assert await asyncio.wait_for(poll, 2) == ()
            assert loop.time() - started < 1.5
    finally:
        await server.stop()  # idempotent
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []
    assert json.dumps(server.calls("getMe")[0].result)  # recorded results are plain JSON
