"""Retrying Telegram calls: 429 (via PTB's AIORateLimiter), 5xx and connection errors, timeouts.

A timed-out *send* may still have been delivered, so only calls that are harmless to repeat are
retried after a timeout; a repeated sendMessage would post the answer twice. A request that never
got a connection (``RequestNotSent``) cannot have been delivered, so any call is retried then.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

from bot.telegram_bot.transport import RequestNotSent

log = logging.getLogger(__name__)

REPEATABLE = frozenset({
    "getMe", "getFile", "getChat", "getChatAdministrators", "getChatMember", "setMyCommands",
    "deleteMyCommands", "getMyCommands", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "editMessageText", "editMessageReplyMarkup", "editMessageCaption", "answerCallbackQuery",
    "sendChatAction",
})


class RetryingRateLimiter(AIORateLimiter):
    """PTB's rate limiter (which retries 429 after ``retry_after``) plus bounded retries with
    exponential back-off for server errors and lost connections."""

    def __init__(self, *, network_retries: int = 3, backoff: float = 0.5, **kwargs: Any) -> None:
        kwargs.setdefault("max_retries", 3)
        super().__init__(**kwargs)
        self.network_retries = network_retries
        self.backoff = backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        attempt = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise  # our request is wrong; sending it again changes nothing
            except TimedOut as exc:
                never_sent = isinstance(exc, RequestNotSent)
                if (endpoint not in REPEATABLE and not never_sent) or attempt >= self.network_retries:
                    raise
                reason = "no free connection" if never_sent else "timeout"
            except NetworkError as exc:
                if attempt >= self.network_retries:
                    raise
                reason = str(exc)
            delay = self.backoff * 2 ** attempt
            attempt += 1
            log.info("Telegram %s failed (%s); retry %d in %.1fs", endpoint, reason, attempt, delay)
            await asyncio.sleep(delay)
