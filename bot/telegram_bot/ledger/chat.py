"""The hazard-rectification ledger (隐患整改台账) in chat.

/bind links a chat account to a registered official; /hazards lists open items, /hazard shows one
with buttons for what the caller may do; /report, /progress, /done, /extend and the buttons that
need more input run as guided steps (``flows``); 复查通过 acts at once; /stats sends the
ranking as a table and a chart. Every refusal is the ledger's own ``LedgerError.message``.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from tempfile import TemporaryDirectory

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.telegram_bot.ledger import flows as ledger_flows
from bot.telegram_bot.ledger import ops
from bot.telegram_bot.html_text import esc
from bot.telegram_bot.ledger.common import (
    action_buttons,
    actor_or_hint,
    ledger,
    pressed_action,
    refuse,
    say,
    show_outcome,
)
from bot.telegram_bot.ledger.text import (
    chart_caption,
    detail_lines,
    list_section,
    stats_lines,
)
from bot.telegram_bot.services import run_blocking, services
from knowledge.ledger import LedgerError
from knowledge.ledger.chart import draw_ranking
from knowledge.ledger.models import Role
from knowledge.ledger.views import StatsReport

CHART_LOCK_KEY = "ledger.chart_lock"

BIND_USAGE = "用法：/bind 绑定码（绑定码向管理员索取，24小时内有效）。"
BIND_IN_GROUP = "为保护绑定码，请在与我的私聊中发送 /bind 绑定码。"
HAZARD_USAGE = "用法：/hazard 编号，例如 /hazard YH-2026-0001"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
EXPIRED_BUTTON = "该操作已结束、已超时，或不是您发起的。"


async def bind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert message is not None and chat is not None and user is not None
    if chat.type != ChatType.PRIVATE:
        await say(update, context, [esc(BIND_IN_GROUP)])
        return
    code = " ".join(context.args or []).strip()
    if not code:
        await say(update, context, [esc(BIND_USAGE)])
        return
    try:
        official = await run_blocking(ledger(context).redeem_bind_code, code, user.id)
    except LedgerError as exc:
        await say(update, context, [esc(exc.message)])
        return
    # This chat may have been refused before binding; it is welcome from now on.
    services(context).access.allow_again(chat.id)
    role = Role.LABELS.get(official.role, official.role)
    await say(update, context, [
        esc(f"绑定成功！您是 {official.name}（{official.unit_name}，{role}）。"),
        esc("发送 /hazards 查看待办隐患，/report 登记新隐患，/help 查看全部命令。"),
    ])


async def hazards(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    overview = await run_blocking(ops.overview, ledger(context), actor)
    lines: list[str] = []
    for section in overview.sections:
        if lines:
            lines.append("")
        lines += list_section(section.title, section.items, section.total, overview.today)
    lines += ["", esc("发送 /hazard 编号 查看详情并办理。")]
    await say(update, context, lines)


async def hazard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = context.args or []
    if not args:
        await say(update, context, [esc(HAZARD_USAGE)])
        return
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    try:
        screen = await run_blocking(ops.screen, ledger(context), actor, args[0])
    except LedgerError as exc:
        await say(update, context, [esc(exc.message)])
        return
    view = screen.view
    await say(update, context, detail_lines(view), action_buttons(view.number, view.version, screen.actions))


async def review_pass(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """复查通过 acts at once; the version in the button makes a second press a refusal."""
    query = update.callback_query
    assert query is not None
    parsed = await pressed_action(update)
    if parsed is None:
        return
    _, number, version = parsed
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    try:
        view = await run_blocking(ops.review, ledger(context), actor, number, True, ops.PASS_NOTE, version)
    except LedgerError as exc:
        await refuse(update, exc.message)
        return
    await query.answer("已销号")
    closed = view.closed_on.isoformat() if view.closed_on else ""
    await show_outcome(update, context, actor, view.number, [esc(f"{view.number} 复查通过，已销号（{closed}）。")])


def _chart_lock(context: ContextTypes.DEFAULT_TYPE) -> asyncio.Lock:
    # pyplot keeps global figure state, so charts are drawn one at a time.
    return context.application.bot_data.setdefault(CHART_LOCK_KEY, asyncio.Lock())


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    args = context.args or []
    period = args[0] if args else None
    unit = " ".join(args[1:]).strip() or None
    try:
        report = await run_blocking(ops.stats, ledger(context), actor, period, unit)
    except LedgerError as exc:
        await say(update, context, [esc(exc.message)])
        return
    await say(update, context, stats_lines(report))
    if not report.total.total:
        return  # an empty chart says nothing the table does not
    await _send_chart(message, context, report)


async def _send_chart(message: Message, context: ContextTypes.DEFAULT_TYPE, report: StatsReport) -> None:
    with TemporaryDirectory(prefix="safetybot-chart-") as tmp:
        async with _chart_lock(context):
            path = await run_blocking(draw_ranking, report, Path(tmp) / "ranking.png")
        await message.reply_photo(photo=path.read_bytes(), caption=chart_caption(report))


async def nothing_to_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await say(update, context, [esc(NOTHING_TO_CANCEL)])


async def expired_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of a step that has ended (or someone else's); every press must still be answered."""
    assert update.callback_query is not None
    await update.callback_query.answer(EXPIRED_BUTTON)


def register(application: Application) -> None:
    # The guided steps come first, so an answer to the bot's question is not taken for a new question.
    application.add_handler(ledger_flows.conversation())
    application.add_handler(CommandHandler("bind", bind))
    application.add_handler(CommandHandler("hazards", hazards))
    application.add_handler(CommandHandler("hazard", hazard))
    application.add_handler(CommandHandler("stats", stats))
    application.add_handler(CallbackQueryHandler(review_pass, pattern=r"^h:ok:"))
    application.add_handler(CommandHandler("cancel", nothing_to_cancel))
    application.add_handler(CallbackQueryHandler(expired_button, pattern=r"^[hr]:"))
