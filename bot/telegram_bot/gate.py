"""The first handler every update meets: refuses chats that are not allowed to use the bot.

A refused chat gets one polite message (only when someone addressed the bot) and then silence.
"""
from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram_bot.commands import command_name
from bot.telegram_bot.html_text import esc
from bot.telegram_bot.questions import addressed_text
from bot.telegram_bot.replies import send_lines
from bot.telegram_bot.services import services

# Private-chat commands anyone may use: without them nobody could link an account.
OPEN_COMMANDS = ("start", "bind", "help")

PRIVATE_REFUSAL = (
    "您好！本助手目前只对已登记的安全生产工作人员开放。\n"
    "如您已登记，请向管理员索取绑定码，然后发送：/bind 绑定码"
)
GROUP_REFUSAL = "本群尚未开通安全生产助手。如需使用，请联系管理员把本群加入名单（群编号 {chat_id}）。"


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        raise ApplicationHandlerStop  # inline queries, polls…: nothing this bot offers
    svc = services(context)
    if await svc.access.chat_allowed(context.bot, chat, user):
        return
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    if chat.type == ChatType.PRIVATE and command_name(text) in OPEN_COMMANDS:
        return
    if update.callback_query is not None:
        await update.callback_query.answer("此处未开通本助手。")
        raise ApplicationHandlerStop
    # In a private chat a file is addressed to the bot as much as a text is.
    addressed = message is not None and (text.startswith("/") or (
        message.text is not None and addressed_text(message, context.bot) is not None) or (
        chat.type == ChatType.PRIVATE and message.effective_attachment is not None))
    if addressed and svc.access.first_refusal(chat.id):
        refusal = PRIVATE_REFUSAL if chat.type == ChatType.PRIVATE else GROUP_REFUSAL.format(chat_id=chat.id)
        await send_lines(message, [esc(line) for line in refusal.split("\n")])  # type: ignore[arg-type]
    raise ApplicationHandlerStop
