"""The error handler: log everything, tell the user something short and true.

Faults of the environment (database down, locked, read-only…; see knowledge/faults.py) get their
own one-sentence message, and the admins are told once (admin_alerts.notify_admins_once).
"""
from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot.telegram_bot.admin_alerts import notify_admins_once
from knowledge.faults import as_fault

log = logging.getLogger(__name__)

INTERNAL = "抱歉，处理这条消息时出错了，错误已记录。请稍后再试，或换个说法。"
NETWORK = "抱歉，与 Telegram 服务器的连接出了问题，这次没有完成。请稍后再试。"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(update, Update):
        log.error("update %s failed", update.update_id, exc_info=error)
    else:
        log.error("background task failed", exc_info=error)
    fault = as_fault(error) if error is not None else None
    if fault is not None:
        # The user can do nothing about it; the admins can, and hear about it once.
        await notify_admins_once(context, fault.code, f"⚠️ 机器人遇到运行环境故障：{fault.message}")
    if not isinstance(update, Update) or isinstance(error, Forbidden):
        return  # nobody to tell, or the user blocked the bot
    # PTB's BadRequest is a NetworkError subclass, but it means our request was wrong.
    network = isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    text = fault.user_message if fault is not None else NETWORK if network else INTERNAL
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)
    except TelegramError as exc:
        log.warning("could not report the error to the user: %s", exc)
