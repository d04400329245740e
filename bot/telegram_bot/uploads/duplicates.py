"""An upload refused as a duplicate: the admin chooses in chat to replace the other document,
keep both, or cancel.

The refusal is held in the database (``knowledge.pending_uploads``) with the Telegram file_id,
which stays valid for this bot, so a choice works after a restart and on any instance sharing
the database; the file is fetched again when a choice needs it. The buttons carry the held
upload's id and version (``buttons.versioned_data``): a second press, a press after another
admin chose, or one after the other document changed, is answered "按钮已失效" and changes nothing.
"""
from __future__ import annotations

import logging
import tempfile
from dataclasses import replace
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.telegram_bot.buttons import parse_versioned, versioned_data
from bot.telegram_bot.html_text import bold, esc
from bot.telegram_bot.replies import BUTTON_LABEL_CHARS
from bot.telegram_bot.services import BotServices, run_blocking, services
from bot.telegram_bot.uploads.files import download_file
from bot.telegram_bot.uploads.status import StatusMessage
from bot.telegram_bot.uploads.text import NOT_ADMIN_UPLOAD, audit_actor, failure_lines, failure_reason, report_lines
from index.knowledge_base import IngestReport
from knowledge import pending_uploads
from knowledge.duplicates import Duplicate, DuplicateContent
from knowledge.pending_uploads import STALE_CHANGED, STALE_EXPIRED, HeldUpload
from knowledge.readers import IngestError

log = logging.getLogger(__name__)

DUPLICATE_CALLBACK = "dup:"
CHOICES = {"r": "replace", "k": "keep", "n": "cancel"}
EXPIRED = "按钮已失效。"
EXPIRED_LONG_AGO = f"按钮已失效（超过 {pending_uploads.HOLD_DAYS} 天）。如仍需载入，请重新上传文件。"


def choice_lines(name: str, duplicate: Duplicate) -> list[str]:
    return [
        bold(f"❌ 《{name}》未能入库"),
        esc(f"内容与已收录的《{duplicate.title}》{duplicate.likeness()}。"),
        esc("如要替换原文档或两份都保留，请点下方按钮（仅限管理员）。"),
    ]


def choice_markup(held: HeldUpload) -> InlineKeyboardMarkup:
    def button(label: str, code: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=versioned_data(DUPLICATE_CALLBACK, code, held.id,
                                                                        held.version))

    title = held.duplicate.title
    room = BUTTON_LABEL_CHARS - len("替换原文档《》")
    shown = title if len(title) <= room else title[:room - 1] + "…"
    # The replace button names the document it deletes, so it gets a row of its own.
    return InlineKeyboardMarkup([[button(f"替换原文档《{shown}》", "r")],
                                 [button("两份都保留", "k"), button("取消", "n")]])


async def offer_choice(svc: BotServices, status: StatusMessage, name: str, file_id: str, title: str | None,
                       refused: DuplicateContent, actor: str) -> None:
    """Finish an upload refused as a duplicate: say which document it duplicates, offer the choice."""
    lines = choice_lines(name, refused.duplicate)
    try:
        held = await run_blocking(pending_uploads.hold, svc.runtime.sessions, source_ref=file_id, file_name=name,
                                  title=title, duplicate=refused.duplicate, actor=actor)
    except Exception:
        # Without a held upload there is nothing to choose; the refusal itself still stands.
        log.exception("cannot hold duplicate upload %s", name)
        await status.finish([*lines[:2], esc("如确需载入，请稍后重新上传。")])
        return
    await status.finish(lines, choice_markup(held))


async def on_duplicate_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    svc = services(context)
    if not await svc.access.is_admin(context.bot, query.from_user.id):
        await query.answer(NOT_ADMIN_UPLOAD, show_alert=True)
        return
    parsed = parse_versioned(query.data, DUPLICATE_CALLBACK)
    if parsed is None or parsed[0] not in CHOICES or not parsed[1].isdigit() or query.message is None:
        await query.answer(EXPIRED)
        return
    code, key, version = parsed
    decision = CHOICES[code]
    claim = await run_blocking(pending_uploads.claim, svc.runtime.sessions, int(key), version, decision,
                               audit_actor(query.from_user))
    held = claim.upload
    if held is None:  # pressed twice, another admin was quicker, or too late: nothing to do
        await query.answer(EXPIRED_LONG_AGO if claim.stale == STALE_EXPIRED else EXPIRED)
        return
    await query.answer(EXPIRED if claim.stale else "已取消" if decision == "cancel" else "正在载入…")
    status = await _status_message(context, query.message, held)
    if claim.stale == STALE_CHANGED:
        await status.finish([bold(f"《{held.file_name}》未载入"), esc(
            f"《{held.duplicate.title}》在此期间已被修改或删除，按钮已失效。如仍需载入，请重新上传。")])
    elif decision == "cancel":
        await status.finish([esc(f"已取消：《{held.file_name}》未载入，已收录的文件不变。")])
    else:
        await _ingest_held(context, svc, status, held, decision, audit_actor(query.from_user))


async def _status_message(context: ContextTypes.DEFAULT_TYPE, shown: MaybeInaccessibleMessage,
                          held: HeldUpload) -> StatusMessage:
    """The message with the buttons becomes the status message; if Telegram no longer lets it be
    edited (too old), a new one is sent to the chat."""
    head = f"《{held.file_name}》："
    if isinstance(shown, Message):
        return StatusMessage(shown, head)
    sent = await context.bot.send_message(shown.chat.id, esc(f"{head}正在处理…"))
    return StatusMessage(sent, head)


async def _ingest_held(context: ContextTypes.DEFAULT_TYPE, svc: BotServices, status: StatusMessage,
                       held: HeldUpload, decision: str, actor: str) -> None:
    name = held.file_name
    await status.show("正在下载…")
    with tempfile.TemporaryDirectory(prefix="safetybot-upload-") as tmp:
        try:
            path = await download_file(context.bot, held.source_ref, name, Path(tmp))
        except TelegramError as exc:
            log.warning("download of held upload %s failed: %s", name, exc)
            await _retry_later(svc, status, held, actor, "文件下载失败，请稍后再点一次按钮。")
            return
        if svc.ingest_lock.locked():
            await status.show("前一份文件还在处理，已排队…")
        async with svc.ingest_lock:
            try:
                report = await run_blocking(_ingest, svc, path, actor, held, decision, status)
            except IngestError as exc:  # e.g. the other document changed just now: nothing loaded
                await status.finish(failure_lines(name, exc.message))
                return
            except Exception as exc:
                log.exception("ingest of held upload %s failed", name)
                await _retry_later(svc, status, held, actor, failure_reason(exc))
                return
    await status.finish(report_lines(report))


def _ingest(svc: BotServices, path: Path, actor: str, held: HeldUpload, decision: str,
            status: StatusMessage) -> IngestReport:
    return svc.runtime.knowledge.ingest(path, actor, title=held.title, progress=status.progress,
                                        duplicate=decision, expected_duplicate=held.duplicate)


async def _retry_later(svc: BotServices, status: StatusMessage, held: HeldUpload, actor: str, reason: str) -> None:
    """A failure that may pass: the choice is offered again (new buttons, the old ones are void)."""
    version = await run_blocking(pending_uploads.reopen, svc.runtime.sessions, held.id, held.version, actor, reason)
    lines = failure_lines(held.file_name, reason)
    if version is None:
        await status.finish(lines)
        return
    await status.finish([*lines, esc("可以再选一次：")], choice_markup(replace(held, version=version)))
