"""Fake Telegram Bot API server for end-to-end tests with the real python-telegram-bot client.

Typical use (the ``tg_server`` fixture lives in ``fake_telegram.plugin``)::

    app = (ApplicationBuilder().token(server.token)
           .base_url(server.base_url).base_file_url(server.base_file_url).build())
    chat = server.group_chat("安全群", admins=[boss])
    server.user_message(chat, worker, "/ask 动火作业要求")
    call = await server.wait_for("sendMessage", lambda p: p["chat_id"] == chat.id)
"""
from .html_check import HtmlParseError, ParsedText, parse_html, utf16_len
from .models import ApiCall, ApiError, FakeChat, FakeUser, StoredFile, UploadedFile
from .server import SECRET_HEADER, FakeTelegram
from .state import DEFAULT_TOKEN, WebhookState

__all__ = [
    "DEFAULT_TOKEN", "SECRET_HEADER", "ApiCall", "ApiError", "FakeChat", "FakeTelegram",
    "FakeUser", "HtmlParseError", "ParsedText", "StoredFile", "UploadedFile", "WebhookState",
    "parse_html", "utf16_len",
]
