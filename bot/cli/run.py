"""`safetybot run`: the Telegram bot, by long polling or behind a webhook."""
from __future__ import annotations

import logging
import sys

import click

from bot.runtime import Runtime

NO_TOKEN = """\
No Telegram bot token is configured (SAFETYBOT_TELEGRAM_TOKEN).

To get one: open Telegram, talk to @BotFather, send /newbot and follow the steps; it replies
with a token like 123456789:AA... Then start the bot with

    SAFETYBOT_TELEGRAM_TOKEN=<token> safetybot run

(or put SAFETYBOT_TELEGRAM_TOKEN=<token> in a .env file). Also set SAFETYBOT_ADMIN_IDS and
SAFETYBOT_ALLOWED_CHATS; see README.md.

To try the assistant without Telegram, run:  safetybot chat
"""


@click.command()
@click.option("--webhook", is_flag=True,
              help="用 webhook 接收消息（需设置 SAFETYBOT_WEBHOOK_URL 等），默认用长轮询。")
@click.option("-v", "--verbose", is_flag=True, help="日志中也记录与 Telegram 的每次通信。")
@click.pass_context
def run(ctx: click.Context, webhook: bool, verbose: bool) -> None:
    """启动 Telegram 机器人（需先设置 SAFETYBOT_TELEGRAM_TOKEN）。"""
    from telegram.error import InvalidToken, NetworkError

    from bot.telegram_bot.app import run_polling, run_webhook
    from bot.telegram_bot.transport import log as transport_log

    runtime: Runtime = ctx.obj
    settings = runtime.settings
    if not settings.telegram_token:
        click.echo(NO_TOKEN, err=True)
        sys.exit(2)
    if webhook and not settings.webhook_url:
        click.echo("Webhook mode needs SAFETYBOT_WEBHOOK_URL (the public https URL Telegram posts to).", err=True)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if verbose:
        transport_log.setLevel(logging.DEBUG)
    else:
        # httpx (group robots) logs every request at INFO; that drowns the bot's own log.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    click.echo(f"Starting the bot ({'webhook' if webhook else 'long polling'}); Ctrl+C stops it.", err=True)
    try:
        (run_webhook if webhook else run_polling)(runtime)
    except InvalidToken:
        click.echo("Telegram rejected the token (SAFETYBOT_TELEGRAM_TOKEN); check it with @BotFather.", err=True)
        sys.exit(1)
    except NetworkError as exc:
        click.echo(f"Cannot reach the Telegram Bot API at {settings.telegram_api_url}: {exc}", err=True)
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(run)
