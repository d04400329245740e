"""One status message per upload, edited in place as the work advances.

Progress arrives from the worker thread that parses and embeds; edits are scheduled onto the
event loop (never awaited from the thread) and throttled, so a long document costs a handful of
edits rather than one per batch. The final edit is always sent.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.telegram_bot.html_text import esc, split_lines

log = logging.getLogger(__name__)
EDIT_INTERVAL_S = 1.5
STAGE_TEXT = {
    "下载": "正在下载…",
    "解析": "正在解析文本…",
    "向量化": "正在向量化 {done}/{total}…",
    "写入索引": "正在写入索引…",
}


def stage_text(stage: str, done: int, total: int) -> str:
    return STAGE_TEXT.get(stage, stage + "…").format(done=done, total=total)


def _not_modified(exc: BadRequest) -> bool:
    return "not modified" in exc.message.lower()


class StatusMessage:
    """The bot's status message for one upload: ``head`` (e.g. "《x.docx》") plus a stage text."""

    def __init__(self, message: Message, head: str, *, interval: float = EDIT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.message = message
        self.head = head
        self.interval = interval
        self._clock = clock
        self._loop = asyncio.get_running_loop()
        self._last_edit = clock()
        self._pending: Future[None] | None = None

    @classmethod
    async def send(cls, reply_to: Message, head: str, first_text: str) -> StatusMessage:
        """Send the status message (``first_text`` as is); later stages show as ``head`` + stage."""
        sent = await reply_to.reply_text(esc(first_text), parse_mode=ParseMode.HTML)
        return cls(sent, head)

    # ---- progress (any thread) ------------------------------------------------------------
    def progress(self, stage: str, done: int, total: int) -> None:
        """A KnowledgeBase progress callback; safe to call from the worker thread."""
        self.report(stage_text(stage, done, total))

    def report(self, text: str) -> None:
        """Show ``text`` unless an edit was made very recently or is still on its way."""
        now = self._clock()
        if now - self._last_edit < self.interval or (self._pending is not None and not self._pending.done()):
            return
        self._last_edit = now
        html = esc(f"{self.head}{text}")
        self._pending = asyncio.run_coroutine_threadsafe(self._edit(html), self._loop)

    # ---- event loop ------------------------------------------------------------------------
    async def show(self, text: str) -> None:
        """Show ``text`` now (a stage change made on the event loop, e.g. 排队 or 下载)."""
        await self._settle()
        self._last_edit = self._clock()
        await self._edit(esc(f"{self.head}{text}"))

    async def finish(self, lines: list[str], markup: InlineKeyboardMarkup | None = None) -> None:
        """The final text (HTML lines): edited into the status message, overflow sent below it;
        ``markup`` (buttons) goes under the last part."""
        await self._settle()
        first, *rest = split_lines(lines) or [esc(self.head)]
        if not await self._edit(first, None if rest else markup):
            rest.insert(0, first)  # the status message is gone; say it afresh
        for n, part in enumerate(rest):
            await self.message.reply_text(part, parse_mode=ParseMode.HTML,
                                          reply_markup=markup if n == len(rest) - 1 else None)

    async def _settle(self) -> None:
        """Let a progress edit still in flight land first, so it cannot overwrite a later text."""
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            await asyncio.wrap_future(pending)

    async def _edit(self, html: str, markup: InlineKeyboardMarkup | None = None) -> bool:
        """Edit the status message (any buttons go unless ``markup`` is given); False when it
        cannot be edited any more."""
        try:
            await self.message.edit_text(html, parse_mode=ParseMode.HTML, reply_markup=markup)
        except BadRequest as exc:
            if _not_modified(exc):
                return True
            log.warning("cannot edit upload status message: %s", exc)
            return False
        except TelegramError as exc:
            # Progress is a courtesy; a lost edit must not fail the upload itself.
            log.warning("upload status edit failed: %s", exc)
            return False
        return True
