"""What the ledger commands and the guided steps share: who is acting, replying, buttons."""
from __future__ import annotations

from telegram import ForceReply, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.telegram_bot.buttons import parse_versioned, versioned_data
from bot.telegram_bot.html_text import esc, split_lines
from bot.telegram_bot.ledger import ops
from bot.telegram_bot.ledger.text import BUTTON_LABELS, NOT_BOUND
from bot.telegram_bot.replies import keyboard
from bot.telegram_bot.services import run_blocking, services
from knowledge.ledger import Actor, LedgerError, LedgerService

CALLBACK_PREFIX = "h:"
ANSWER_CHARS = 200  # Telegram's limit for a callback answer


def ledger(context: ContextTypes.DEFAULT_TYPE) -> LedgerService:
    return services(context).runtime.ledger


async def refuse(update: Update, text: str) -> None:
    """A refusal: as an alert on a button press, as a reply to a message."""
    query = update.callback_query
    if query is not None:
        await query.answer(text[:ANSWER_CHARS], show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(esc(text))


async def actor_or_hint(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Actor | None:
    """The ledger identity of the sender; None (after telling them how to bind) if they have none."""
    user = update.effective_user
    actor = await services(context).access.actor(context.bot, user) if user is not None else None
    if actor is None:
        await refuse(update, NOT_BOUND)
    return actor


async def say(update: Update, context: ContextTypes.DEFAULT_TYPE, lines: list[str],
              markup: InlineKeyboardMarkup | ForceReply | None = None) -> list[Message]:
    """Send HTML ``lines`` (split as needed) to the update's chat, the markup under the last part.

    A reply to a user's message quotes it in groups. After a button press there is no user
    message to quote, so a group prompt names the user instead: a selective ForceReply then opens
    the reply field for them alone.
    """
    chat, user, message = update.effective_chat, update.effective_user, update.message
    assert chat is not None
    if message is None and isinstance(markup, ForceReply) and chat.type != ChatType.PRIVATE and user:
        lines = [f'<a href="tg://user?id={user.id}">{esc(user.full_name)}</a>', *lines]
    parts = split_lines(lines)
    sent = []
    for n, part in enumerate(parts):
        extra = markup if n == len(parts) - 1 else None
        if message is not None:
            sent.append(await message.reply_text(part, reply_markup=extra))
        else:
            sent.append(await context.bot.send_message(chat.id, part, reply_markup=extra))
    return sent


def action_data(action: str, number: str, version: int) -> str:
    return versioned_data(CALLBACK_PREFIX, action, number, version)


def parse_action(data: str) -> tuple[str, str, int] | None:
    """(action, number, version) from "h:<action>:<number>:<version>", None if malformed."""
    return parse_versioned(data, CALLBACK_PREFIX)


async def pressed_action(update: Update) -> tuple[str, str, int] | None:
    """The (action, number, version) of a pressed ledger button; a malformed one is answered."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parsed = parse_action(query.data)
    if parsed is None:
        await query.answer("按钮已失效。")
    return parsed


def action_buttons(number: str, version: int, actions: list[str]) -> InlineKeyboardMarkup | None:
    return keyboard([(BUTTON_LABELS[a], action_data(a, number, version)) for a in actions])


async def show_outcome(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, number: str,
                       lines: list[str]) -> None:
    """Report a finished step, with the buttons the user may press next on the item's new version."""
    markup = None
    try:
        screen = await run_blocking(ops.screen, ledger(context), actor, number)
        markup = action_buttons(screen.view.number, screen.view.version, screen.actions)
    except LedgerError:
        pass  # the step succeeded; without buttons the user can still send /hazard
    await say(update, context, lines, markup)
