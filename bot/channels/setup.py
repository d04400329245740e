"""Wiring a dispatcher: the registry of channels and the reminder domain's planner and records.

Channels are registered by kind: Telegram when a bot is given, and the group-robot channels
(企业微信/钉钉/飞书) when the ledger is given. A row whose kind has no channel in this process stays
pending. The planner adds the unit-group reminders for robots (``bot.channels.robots``).
"""
from __future__ import annotations

from telegram import Bot

from bot.channels.base import Channel
from bot.channels.dispatch import Dispatcher
from bot.channels.robots import RobotPlanner, robot_channels
from bot.channels.telegram import TelegramChannel
from bot.runtime import Runtime
from bot.telegram_bot.retries import RetryingRateLimiter
from bot.telegram_bot.transport import AiohttpRequest
from knowledge.config import Settings
from knowledge.group_robots import RobotChannelService
from knowledge.ledger import LedgerService
from knowledge.reminders.escalation import record_escalations
from knowledge.reminders.service import ReminderService


def channel_registry(settings: Settings, telegram_bot: Bot | None,
                     ledger: LedgerService | None = None) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if telegram_bot is not None:
        channels[TelegramChannel.kind] = TelegramChannel(telegram_bot)
    if ledger is not None:
        channels.update(robot_channels(RobotChannelService(ledger)))
    return channels


async def close_channels(channels: dict[str, Channel]) -> None:
    """Release what channels hold open (the robots' HTTP connections)."""
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if close is not None:
            await close()


def reminder_dispatcher(runtime: Runtime, channels: dict[str, Channel], **options: object) -> Dispatcher:
    service = ReminderService(runtime.ledger)
    return Dispatcher(runtime.sessions, channels, RobotPlanner(service), record_escalations=record_escalations,
                      mark_undeliverable=service.mark_undeliverable, **options)  # type: ignore[arg-type]


def standalone_bot(settings: Settings, *, read_timeout: float = 30) -> Bot:
    """A bot for sending outside ``safetybot run`` (the CLI): same API URL, same retrying limiter."""
    from telegram.ext import ExtBot

    if not settings.telegram_token:
        raise ValueError("SAFETYBOT_TELEGRAM_TOKEN is not set")

    return ExtBot(settings.telegram_token, base_url=settings.telegram_api_url,
                  base_file_url=settings.telegram_file_url, rate_limiter=RetryingRateLimiter(),
                  request=AiohttpRequest(pool_size=16, read_timeout=read_timeout, write_timeout=30))
