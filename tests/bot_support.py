"""Running the real bot (PTB Application from ``bot.telegram_bot.app``) against the fake Telegram.

``running_bot`` starts long polling in the test's event loop and stops it afterwards; ``BotDriver``
sends as a user and waits for what the bot sends back.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_telegram import ApiCall, FakeChat, FakeTelegram, FakeUser
from telegram.ext import Application

from bot.runtime import Runtime
from bot.telegram_bot.app import build_application
from knowledge.config import Settings


def bot_settings(server: FakeTelegram, data_dir: Path, models_dir: Path, *, database_url: str | None = None,
                 admin_ids: Iterable[int] = (), admin_chat: int | None = None,
                 allowed_chats: Iterable[int] = (), load_bundled: bool = True, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir, database_url=database_url, model_dir=models_dir, load_bundled=load_bundled,
        telegram_token=server.token, telegram_api_url=server.base_url, telegram_file_url=server.base_file_url,
        admin_ids=list(admin_ids), admin_chat=admin_chat, allowed_chats=list(allowed_chats),
        _env_file=None, **extra,
    )


@dataclass
class BotDriver:
    server: FakeTelegram
    app: Application
    runtime: Runtime

    async def send(self, chat: FakeChat, user: FakeUser, text: str, **kw: Any) -> list[ApiCall]:
        """``user`` writes ``text``; returns the bot's messages in that chat once it goes quiet."""
        mark = self.server.mark()
        self.server.user_message(chat, user, text, **kw)
        return await self.replies(chat, mark)

    async def replies(self, chat: FakeChat, mark: int, *, method: str = "sendMessage",
                      timeout: float = 20.0, settle: float = 0.3) -> list[ApiCall]:
        """Messages ``method`` sent to ``chat`` since ``mark``: waits for the first, then until
        nothing new has arrived for ``settle`` seconds (a long answer comes in several parts)."""
        await self.server.wait_for(method, lambda p: p.get("chat_id") == chat.id, since=mark, timeout=timeout)
        return await self.settled(chat, mark, method=method, settle=settle)

    async def settled(self, chat: FakeChat, mark: int, *, method: str = "sendMessage",
                      settle: float = 0.3) -> list[ApiCall]:
        await self.idle()
        count = -1
        while True:
            found = [c for c in self.server.sent[mark:]
                     if c.method == method and c.params.get("chat_id") == chat.id and c.ok]
            if len(found) == count:
                return found
            count = len(found)
            await asyncio.sleep(settle)

    async def silent(self, chat: FakeChat, mark: int, seconds: float = 1.0) -> None:
        """Assert that the bot sent nothing to ``chat`` for ``seconds`` after ``mark``."""
        await asyncio.sleep(seconds)
        sent = [c for c in self.server.sent[mark:] if c.params.get("chat_id") == chat.id]
        assert sent == [], f"expected silence, got {sent}"

    async def press(self, user: FakeUser, message: ApiCall | dict[str, Any], data: str) -> list[ApiCall]:
        """``user`` presses a button; returns every call the bot made until it goes quiet."""
        mark = self.server.mark()
        query_id = self.server.callback_query(user, message, data)
        await self.server.wait_for("answerCallbackQuery", lambda p: p.get("callback_query_id") == query_id,
                                   since=mark, timeout=20)
        # The handler answers the button before it sends (the spinner stops at once); under load
        # its message can come long after, so wait for the handler to finish, not for a pause.
        await self.idle()
        await asyncio.sleep(0.1)
        return list(self.server.sent[mark:])

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until the bot has no update in hand (every handler has returned)."""
        processor = self.app.update_processor
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while processor.current_concurrent_updates or not self.app.update_queue.empty():
            if loop.time() > deadline:
                raise AssertionError(f"the bot was still busy after {timeout:.0f} s")
            await asyncio.sleep(0.02)


def texts(calls: Iterable[ApiCall]) -> list[str]:
    return [c.params.get("text", "") for c in calls]


def plain(call: ApiCall) -> str:
    """The text as the user sees it (HTML parsed, as the fake server stored it)."""
    return call.result.get("text") or call.result.get("caption") or ""


@asynccontextmanager
async def running_bot(server: FakeTelegram, settings: Settings, *, embedder: Any = None,
                      prepare: Callable[[Runtime], None] | None = None, warm_up: bool = True,
                      polling: bool = True) -> AsyncIterator[BotDriver]:
    """``warm_up=False`` skips opening the knowledge base (ledger and reminder tests need no
    embedder); ``polling=False`` runs the application (its job queue) without taking updates, as
    a second instance sharing the token would."""
    runtime = Runtime(settings, embedder=embedder)
    if prepare is not None:
        prepare(runtime)
    app = build_application(runtime, warm_up=warm_up)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)  # run_polling() would call it; tests drive the pieces themselves
    await app.start()
    assert app.updater is not None
    if polling:
        await app.updater.start_polling(timeout=5, poll_interval=0)
    try:
        yield BotDriver(server, app, runtime)
    finally:
        if polling:
            await app.updater.stop()
        await app.stop()
        await app.shutdown()
        runtime.close()
