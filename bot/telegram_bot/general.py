"""/start, /help and /docs."""
from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.telegram_bot import commands
from bot.telegram_bot.commands import ADMIN, GENERAL, LEDGER, QUESTIONS
from bot.telegram_bot.html_text import bold, esc
from bot.telegram_bot.replies import send_lines
from bot.telegram_bot.services import run_blocking, services
from knowledge.models import DocStatus
from knowledge.parse import KIND_LABELS

WELCOME = "您好，我是安全生产助手：查法规条文、问职责分工、管隐患整改台账。"
HOW_TO_ASK_PRIVATE = "直接发问题即可，例如：事故多久内要上报？"
HOW_TO_ASK_GROUP = "在群里请 @我 提问、回复我的消息，或用 /ask 问题。"
NOT_BOUND = "台账功能需要先绑定账号：向管理员索取绑定码后发送 /bind 绑定码。"


def _section(title: str, pairs: list[tuple[str, str]]) -> list[str]:
    return [bold(title), *(esc(f"/{name} — {text}") for name, text in pairs)]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    private = message.chat.type == ChatType.PRIVATE
    lines = [esc(WELCOME), esc(HOW_TO_ASK_PRIVATE if private else HOW_TO_ASK_GROUP)]
    access = services(context).access
    actor = await access.actor(context.bot, user)
    if private and await access.is_admin(context.bot, user.id):
        await commands.publish_for_admin(context.bot, message.chat.id)
    if actor is None and private:
        lines.append(esc(NOT_BOUND))
    elif actor is not None:
        lines.append(esc(f"当前身份：{actor.name}" + (f"（{actor.unit_name}）" if actor.unit_name else "")))
    lines.append(esc("发送 /help 查看全部命令。"))
    await send_lines(message, lines)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    private = message.chat.type == ChatType.PRIVATE
    lines = [esc(HOW_TO_ASK_PRIVATE if private else HOW_TO_ASK_GROUP), ""]
    lines += _section("法规与职责", QUESTIONS) + [""] + _section("隐患台账", LEDGER) + [""]
    lines += _section("其他", GENERAL + ([("bind", "绑定账号：/bind 绑定码")] if private else []))
    if await services(context).access.is_admin(context.bot, user.id):
        lines += ["", *_section("管理员", ADMIN), esc("在管理群或私聊中直接发送文件，也会作为文档入库。")]
    await send_lines(message, lines)


def _documents_lines(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    rows = services(context).runtime.knowledge.list_documents()
    lines = [bold(f"已收录 {len(rows)} 份文件")]
    for doc, passages in rows:
        status = "" if doc.status == DocStatus.CURRENT else f"［{doc.status}］"
        kind = KIND_LABELS.get(doc.kind, doc.kind)
        lines.append(esc(f"· {doc.title}（{kind}，{passages}条）{status}"))
    return lines


async def docs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await send_lines(update.effective_message, await run_blocking(_documents_lines, context))


STALE_BUTTON = "按钮已失效，请重新发送命令。"


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any button press no other handler took: answered, so the user's spinner stops."""
    assert update.callback_query is not None
    await update.callback_query.answer(STALE_BUTTON)


def register_fallback(application: Application) -> None:
    """Registered last: only presses that nothing else recognises arrive here."""
    application.add_handler(CallbackQueryHandler(unknown_button))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("docs", docs))
