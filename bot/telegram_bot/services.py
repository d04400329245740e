"""What every handler needs, kept in ``application.bot_data`` (no module-level state)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telegram.ext import Application, ContextTypes

from bot.runtime import Runtime
from bot.telegram_bot.access import AccessPolicy
from bot.telegram_bot.admin_alerts import AdminAlerts

T = TypeVar("T")
SERVICES_KEY = "safetybot.services"


@dataclass
class BotServices:
    runtime: Runtime
    access: AccessPolicy
    # Uploads are processed one at a time; questions keep flowing meanwhile (see run_blocking).
    ingest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Alerts to admins already sent (see admin_alerts.notify_admins_once).
    alerts: AdminAlerts = field(default_factory=AdminAlerts)

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        return self.runtime.settings


def attach(application: Application, services: BotServices) -> None:
    application.bot_data[SERVICES_KEY] = services


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES_KEY]


async def run_blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run retrieval, ingestion and database work in a worker thread, off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)
