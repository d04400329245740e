"""The bot's HTTP client (bot.telegram_bot.transport.AiohttpRequest) under the real PTB Bot,
against the fake Telegram server: what it sends, what it downloads, and how it fails."""
from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from fake_telegram import FakeTelegram
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import ExtBot
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.telegram_bot.retries import RetryingRateLimiter
from bot.telegram_bot.transport import AiohttpRequest, RequestNotSent


def _bot(server: FakeTelegram, request: AiohttpRequest | None = None) -> Bot:
    return Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url,
               request=request or AiohttpRequest(), get_updates_request=AiohttpRequest(pool_size=1))


async def test_parameters_buttons_and_files_arrive_as_sent(tg_server: FakeTelegram) -> None:
    user = tg_server.user("蒋工")
    chat = tg_server.private_chat(user)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("查看原文", callback_data="p:41")]])
    report = "单位,隐患\n城关镇,3\n".encode()
    async with _bot(tg_server) as bot:
        sent = await bot.send_message(chat.id, "<b>第四十一条</b> 生产经营单位…", parse_mode=ParseMode.HTML,
                                      reply_markup=markup)
        document = await bot.send_document(chat.id, report, filename="台账.csv", caption="本周台账")
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(chat.id, "a < b", parse_mode=ParseMode.HTML)
        # A download is a GET through the same client.
        downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
    call = tg_server.calls("sendMessage", chat_id=chat.id)[0]
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "查看原文", "callback_data": "p:41"}]]}
    assert sent.text == "第四十一条 生产经营单位…" and sent.entities[0].type == "bold"
    assert document.document.file_name == "台账.csv" and document.caption == "本周台账"
    assert bytes(downloaded) == report


async def test_each_call_can_be_logged_without_the_token(tg_server: FakeTelegram,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.telegram_bot.transport")
    async with _bot(tg_server) as bot:
        await bot.send_message(tg_server.private_chat(tg_server.user("秦工")).id, "提醒")
    assert "Telegram POST sendMessage: 200" in caplog.text
    assert tg_server.token.split(":")[1] not in caplog.text


async def test_a_slow_answer_times_out_as_possibly_sent(tg_server: FakeTelegram) -> None:
    chat = tg_server.private_chat(tg_server.user("韩工"))
    tg_server.slow_next("sendMessage", 1.0)
    async with _bot(tg_server, AiohttpRequest(read_timeout=0.2)) as bot:
        with pytest.raises(TimedOut) as raised:
            await bot.send_message(chat.id, "提醒")
    assert not isinstance(raised.value, RequestNotSent)


async def test_no_free_connection_times_out_as_never_sent(tg_server: FakeTelegram) -> None:
    chat = tg_server.private_chat(tg_server.user("杨工"))
    tg_server.slow_next("sendMessage", 1.0)
    async with _bot(tg_server, AiohttpRequest(pool_size=1, pool_timeout=0.1, connect_timeout=0.1, read_timeout=5)) as bot:
        slow = asyncio.create_task(bot.send_message(chat.id, "第一条"))
        await asyncio.sleep(0.2)  # the only connection is now busy with the slow call
        with pytest.raises(RequestNotSent) as raised:
            await bot.send_message(chat.id, "第二条")
        await slow
    assert isinstance(raised.value, TimedOut)  # still caught wherever a timeout is
    assert [c.params["text"] for c in tg_server.calls("sendMessage", chat_id=chat.id)] == ["第一条"]


async def test_a_send_that_never_got_a_connection_is_retried_and_arrives_once(tg_server: FakeTelegram) -> None:
    chat = tg_server.private_chat(tg_server.user("杨工"))
    tg_server.slow_next("sendMessage", 1.0)
    request = AiohttpRequest(pool_size=1, pool_timeout=0.1, connect_timeout=0.1, read_timeout=5)
    bot = ExtBot(tg_server.token, base_url=tg_server.base_url, request=request,
                 get_updates_request=AiohttpRequest(pool_size=1),
                 rate_limiter=RetryingRateLimiter(network_retries=4, backoff=0.3))
    async with bot:
        slow = asyncio.create_task(bot.send_message(chat.id, "第一条"))
        await asyncio.sleep(0.2)
        await bot.send_message(chat.id, "第二条")  # waits out the busy connection instead of failing
        await slow
    assert sorted(c.params["text"] for c in tg_server.calls("sendMessage", chat_id=chat.id)) == ["第一条", "第二条"]


async def test_an_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    bot = Bot("123:abc", base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest(),
              get_updates_request=AiohttpRequest(pool_size=1))
    try:
        with pytest.raises(NetworkError, match="aiohttp"):
            await bot.initialize()
    finally:
        await bot.shutdown()


async def test_a_request_can_be_opened_again_after_shutdown(tg_server: FakeTelegram) -> None:
    request = AiohttpRequest()
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(f"{tg_server.base_url}{tg_server.token}/getMe")
    for _ in range(2):
        async with _bot(tg_server, request) as bot:
            assert (await bot.get_me()).is_bot
    assert request._session is not None and request._session.closed  # nothing left open
