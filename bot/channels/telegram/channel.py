"""The Telegram channel: one ``sendMessage`` per reminder through the bot's retrying rate limiter.

Pacing happens twice on purpose: ``ready`` waits for a slot (30 messages/s overall, 20/min per
group) *before* the dispatcher claims a row, so a claimed row is sent within milliseconds and a
crash leaves almost nothing in flight; the bot's own ``RetryingRateLimiter`` then still keeps every
other call of the bot within Telegram's limits and handles 429 (``retry_after``) and 5xx/connection
errors with back-off. A timed-out send is not repeated: it may have arrived.
"""
from __future__ import annotations

import logging

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.channels.base import DeliveryResult, Outcome
from bot.channels.telegram.render import render
from bot.telegram_bot.transport import RequestNotSent
from knowledge.reminders.messages import Reminder

log = logging.getLogger(__name__)

OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
_GONE = ("chat not found", "user not found", "bot was kicked", "not a member", "user is deactivated",
         "group chat was deactivated", "peer_id_invalid")


class TelegramChannel:
    kind = "telegram"

    def __init__(self, bot: Bot, *, per_second: float = OVERALL_PER_SECOND,
                 group_per_minute: float = GROUP_PER_MINUTE) -> None:
        self.bot = bot
        self._overall = AsyncLimiter(per_second, 1)
        self._group_rate = group_per_minute
        self._groups: dict[str, AsyncLimiter] = {}

    async def ready(self, address: str) -> None:
        """Wait until a message to ``address`` is within Telegram's rate limits."""
        if address.startswith("-"):
            limiter = self._groups.setdefault(address, AsyncLimiter(self._group_rate, 60))
            await limiter.acquire()
        await self._overall.acquire()

    async def deliver(self, address: str, reminder: Reminder) -> DeliveryResult:
        rendered = render(reminder)
        markup = None
        if rendered.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                                           for row in rendered.buttons])
        try:
            message = await self.bot.send_message(int(address), rendered.text, parse_mode="HTML",
                                                  reply_markup=markup)
        except Forbidden as exc:
            return DeliveryResult(Outcome.UNDELIVERABLE, error=_reason(exc))
        except ChatMigrated as exc:
            return DeliveryResult(Outcome.UNDELIVERABLE, error=f"群已升级，新群 ID {exc.new_chat_id}，请重新关联")
        except BadRequest as exc:
            if any(text in exc.message.lower() for text in _GONE):
                return DeliveryResult(Outcome.UNDELIVERABLE, error=_reason(exc))
            log.error("Telegram refused reminder for %s: %s", address, exc.message)
            return DeliveryResult(Outcome.RETRY, error=exc.message[:200])
        except TimedOut as exc:
            if isinstance(exc, RequestNotSent):
                return DeliveryResult(Outcome.RETRY, error="连接超时，未发出")
            return DeliveryResult(Outcome.UNKNOWN, error="发送超时，可能已送达")
        except RetryAfter as exc:
            return DeliveryResult(Outcome.RETRY, error=f"Telegram 限流（retry_after {exc.retry_after}）")
        except (NetworkError, TelegramError) as exc:
            return DeliveryResult(Outcome.RETRY, error=str(exc)[:200])
        return DeliveryResult(Outcome.SENT, message_ids=(str(message.message_id),))


def _reason(exc: TelegramError) -> str:
    """What admins read in the summary: why this chat cannot be reached."""
    text = exc.message.lower()
    if "blocked" in text:
        return "已屏蔽机器人"
    if "kicked" in text or "not a member" in text or "deactivated" in text:
        return "机器人已不在群中"
    if "chat not found" in text or "user not found" in text:
        return "聊天不存在（未与机器人对话或已删除）"
    return f"无法送达（{exc.message[:80]}）"
