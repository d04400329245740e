"""Telling the admins about a problem once, not once per message that runs into it.

An alert goes to every id in ``SAFETYBOT_ADMIN_IDS`` (their private chats) and to
``SAFETYBOT_ADMIN_CHAT``. The same ``key`` (e.g. a fault code) is sent again only after
``REPEAT_AFTER_S``, so a database that stays down for an hour produces one alert, not hundreds.
Any job or handler can use ``notify_admins_once`` (reminder jobs, the error handler).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Bot
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.telegram_bot.html_text import esc
from knowledge.config import Settings

log = logging.getLogger(__name__)

REPEAT_AFTER_S = 3600.0


@dataclass
class AdminAlerts:
    """Which alerts have been sent recently (per running bot)."""

    repeat_after_s: float = REPEAT_AFTER_S
    clock: Callable[[], float] = time.monotonic
    _sent: dict[str, float] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def claim(self, key: str) -> bool:
        """True (and remember it) when an alert with ``key`` is due."""
        with self._guard:
            now = self.clock()
            last = self._sent.get(key)
            if last is not None and now - last < self.repeat_after_s:
                return False
            self._sent[key] = now
            return True


def admin_recipients(settings: Settings) -> list[int]:
    chats = list(dict.fromkeys(settings.admin_ids))
    if settings.admin_chat is not None and settings.admin_chat not in chats:
        chats.append(settings.admin_chat)
    return chats


async def send_admin_alert(bot: Bot, settings: Settings, alerts: AdminAlerts, key: str, text: str) -> bool:
    """Send ``text`` (plain) to the admins unless an alert with ``key`` went out recently."""
    if not alerts.claim(key):
        return False
    recipients = admin_recipients(settings)
    if not recipients:
        log.warning("no admins configured to tell about %s: %s", key, text)
    for chat_id in recipients:
        try:
            await bot.send_message(chat_id, esc(text))
        except TelegramError as exc:
            log.warning("could not alert admin chat %s about %s: %s", chat_id, key, exc)
    return True


async def notify_admins_once(context: ContextTypes.DEFAULT_TYPE, key: str, text: str) -> bool:
    """``send_admin_alert`` with the running bot's settings and memory of sent alerts."""
    from bot.telegram_bot.services import services

    svc = services(context)
    return await send_admin_alert(context.bot, svc.settings, svc.alerts, key, text)
