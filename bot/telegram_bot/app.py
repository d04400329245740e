"""Building the PTB Application and running it by long polling or behind a webhook."""
from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults, TypeHandler

from bot.runtime import Runtime
from bot.telegram_bot import admin_chat, commands, general, questions, reminders, robot_channels
from bot.telegram_bot.ledger import chat as ledger_chat
from bot.telegram_bot.access import AccessPolicy
from bot.telegram_bot.errors import on_error
from bot.telegram_bot.gate import gate
from bot.telegram_bot.processing import PerSenderUpdateProcessor
from bot.telegram_bot.retries import RetryingRateLimiter
from bot.telegram_bot.transport import AiohttpRequest
from bot.telegram_bot.services import BotServices, attach, run_blocking, services

log = logging.getLogger(__name__)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
GATE_GROUP = -1
WORKER_THREADS = 24  # questions answered (or waiting for the model) at once


def _prepare_answers(runtime: Runtime) -> None:
    started = time.monotonic()
    try:
        count = runtime.knowledge.prepare()
    except Exception:  # only a speed-up: answers stay correct without it
        log.exception("preparing quotes failed")
        return
    log.info("prepared %d passages for quoting in %.1f s", count, time.monotonic() - started)


def build_application(runtime: Runtime, *, warm_up: bool = True) -> Application:
    """The bot over ``runtime``'s knowledge base, duty rules and ledger.

    With ``warm_up`` the knowledge base is opened (and on a first run the bundled laws are
    indexed) before the bot takes updates, so the first question is answered at full speed.
    """
    settings = runtime.settings
    if not settings.telegram_token:
        raise ValueError("SAFETYBOT_TELEGRAM_TOKEN is not set")

    # Questions run in the loop's default executor (run_blocking). Its default size, CPUs + 4,
    # would let only 6 questions wait for the embedding model together; with more, the questions
    # that arrive while one batch is encoded are encoded as one batch, which costs a fraction of
    # encoding them one by one. The loop shuts it down when it closes (asyncio.run).
    workers = ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="safetybot-worker")

    async def post_init(application: Application) -> None:
        asyncio.get_running_loop().set_default_executor(workers)
        if warm_up:
            log.info("opening the knowledge base…")
            await run_blocking(lambda: (runtime.knowledge, runtime.duties))
            threading.Thread(target=_prepare_answers, args=(runtime,), name="prepare-answers", daemon=True).start()
        await commands.publish(application.bot, settings)
        log.info("bot @%s ready", application.bot.username)

    application = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=ZoneInfo(settings.timezone),
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(RetryingRateLimiter(overall_max_rate=settings.telegram_max_rate))
        .concurrent_updates(PerSenderUpdateProcessor())
        # Uploads are fetched with getFile/download; give slow links some room.
        .request(AiohttpRequest(read_timeout=30, write_timeout=60, media_write_timeout=60))
        .get_updates_request(AiohttpRequest(pool_size=1, read_timeout=40))
        .post_init(post_init)
        .build()
    )
    attach(application, BotServices(runtime, AccessPolicy(settings, lambda: runtime.ledger)))
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    general.register(application)
    reminders.register(application, runtime)
    ledger_chat.register(application)  # first: its /report conversation must see replies before questions do
    admin_chat.register(application)
    robot_channels.register(application)
    questions.register(application)
    questions.register_fallback(application)
    general.register_fallback(application)
    application.add_error_handler(on_error)
    return application


def run_polling(runtime: Runtime) -> None:
    application = build_application(runtime)
    application.run_polling(allowed_updates=ALLOWED_UPDATES)


def webhook_parameters(runtime: Runtime) -> dict[str, object]:
    settings = runtime.settings
    if not settings.webhook_url:
        raise ValueError("SAFETYBOT_WEBHOOK_URL is not set")
    # Without a configured secret a fresh one per start still proves posts come from Telegram,
    # because the bot registers the webhook itself on every start.
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlsplit(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


def run_webhook(runtime: Runtime) -> None:
    application = build_application(runtime)
    application.run_webhook(**webhook_parameters(runtime))  # type: ignore[arg-type]


__all__ = ["build_application", "run_polling", "run_webhook", "services", "webhook_parameters"]
