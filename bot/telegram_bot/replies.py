"""Sending replies: HTML lines split into messages, buttons under the last part."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode

from bot.telegram_bot.html_text import split_lines

BUTTONS_PER_ROW = 2
BUTTON_LABEL_CHARS = 24


@dataclass
class Reply:
    lines: list[str]
    # (label, callback_data); callback data must stay within Telegram's 64 bytes.
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def markup(self) -> InlineKeyboardMarkup | None:
        return keyboard(self.buttons)


def keyboard(buttons: Sequence[tuple[str, str]], per_row: int = BUTTONS_PER_ROW) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    cells = [InlineKeyboardButton(_short(label), callback_data=data) for label, data in buttons]
    return InlineKeyboardMarkup([cells[i:i + per_row] for i in range(0, len(cells), per_row)])


def _short(label: str) -> str:
    return label if len(label) <= BUTTON_LABEL_CHARS else label[:BUTTON_LABEL_CHARS - 1] + "…"


async def send_reply(message: Message, reply: Reply) -> list[Message]:
    """Answer ``message`` (quoting it in groups) with as few messages as the text needs."""
    parts = split_lines(reply.lines)
    sent: list[Message] = []
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        sent.append(await message.reply_text(
            part, parse_mode=ParseMode.HTML, reply_markup=reply.markup() if last else None,
        ))
    return sent


async def send_lines(message: Message, lines: list[str]) -> list[Message]:
    return await send_reply(message, Reply(lines))
