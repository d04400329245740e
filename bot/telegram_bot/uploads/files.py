"""Files sent to the bot: which command a caption carries, size checks and downloading.

Files are checked against the size limit from the message itself (``document.file_size``), before
``getFile``: Telegram refuses to hand bots anything over 20 MB, and there is no point fetching a
file only to refuse it.
"""
from __future__ import annotations

import re
from pathlib import Path

from telegram import Bot, Document, Message

from knowledge.config import Settings

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
MAX_NAME_CHARS = 120
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?=\s|$)")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def parse_command(text: str | None, bot_username: str | None) -> tuple[str | None, str]:
    """(command, rest) of a caption or text such as "/upload@bot 某市条例"; command is None when
    the text is no command, or one addressed to another bot."""
    text = (text or "").strip()
    match = _COMMAND.match(text)
    if match is None:
        return None, text
    target = match.group(2)
    if target and bot_username and target.lower() != bot_username.lower():
        return None, text
    return match.group(1).lower(), text[match.end():].strip()


def document_of(message: Message) -> Document | None:
    """The file a command is about: attached to the message itself or to the message it replies to."""
    if message.document is not None:
        return message.document
    replied = message.reply_to_message
    return replied.document if replied is not None else None


def file_name(document: Document, fallback: str = "上传文件") -> str:
    """A safe local name that keeps the original name and suffix (the suffix picks the reader)."""
    name = _UNSAFE_NAME.sub("_", Path(document.file_name or "").name).strip(" .")
    if not name:
        return fallback
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        return name[:MAX_NAME_CHARS]
    # A bare ".docx" would have no stem, and then no suffix either: give it one.
    return f"{stem[:MAX_NAME_CHARS] or fallback}.{suffix[:16]}"


def size_limit(settings: Settings) -> int:
    return min(settings.max_upload_bytes, TELEGRAM_DOWNLOAD_LIMIT)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".") + " MB"


def too_big(document: Document, settings: Settings) -> str | None:
    """A refusal when the file is over the limit, judged before anything is downloaded."""
    limit = size_limit(settings)
    if document.file_size is None or document.file_size <= limit:
        return None
    return (f"文件“{file_name(document)}”有 {megabytes(document.file_size)}，超过 {megabytes(limit)} 的上限"
            "（Telegram 机器人无法接收更大的文件）。请压缩图片、删去附件或拆分后再上传。")


async def download(bot: Bot, document: Document, directory: Path) -> Path:
    """Fetch ``document`` into ``directory`` under its original name."""
    return await download_file(bot, document.file_id, file_name(document), directory)


async def download_file(bot: Bot, file_id: str, name: str, directory: Path) -> Path:
    """Fetch the file ``file_id`` (valid for this bot long after the message) as ``directory/name``."""
    target = directory / name
    telegram_file = await bot.get_file(file_id)
    await telegram_file.download_to_drive(target)
    return target
