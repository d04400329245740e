"""Telegram as a delivery channel: rendering (``render``) and sending (``channel``)."""
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.render import Rendered, render

__all__ = ["Rendered", "TelegramChannel", "render"]
