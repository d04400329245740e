"""Administrators in chat: uploading documents and duty-rule tables, /remove, /issuecode.

A file is an upload when its caption starts with /upload (in any allowed chat), or when it is
sent in the admin chat or in a private chat with the bot. In ordinary groups people share files
all the time; those are left alone. /rules works the same way for duty-rule tables, and both
commands may also be sent as a reply to a message that carries the file.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from telegram import CallbackQuery, Chat, Document, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.runtime import Runtime
from bot.telegram_bot.html_text import bold, esc, plain_lines
from bot.telegram_bot.replies import Reply, send_lines, send_reply
from bot.telegram_bot.services import BotServices, run_blocking, services
from bot.telegram_bot.uploads.files import (
    document_of,
    download,
    file_name,
    parse_command,
    size_limit,
    too_big,
)
from bot.telegram_bot.uploads.duplicates import DUPLICATE_CALLBACK, offer_choice, on_duplicate_button
from bot.telegram_bot.uploads.status import StatusMessage
from bot.telegram_bot.uploads.text import NOT_ADMIN_UPLOAD, audit_actor, failure_lines, failure_reason, report_lines
from index.knowledge_base import IngestReport, Progress
from knowledge.duties.loader import RulesFileError
from knowledge.duties.repository import UpsertResult
from knowledge.duties.service import load_rules_file
from knowledge.duplicates import DuplicateContent
from knowledge.ledger import Actor, LedgerError
from knowledge.readers import IngestError

log = logging.getLogger(__name__)

REMOVE_CALLBACK = "drm:"

NOT_ADMIN = "抱歉，{command} 仅限管理员使用。"
UPLOAD_USAGE = ("请把文件作为附件发送，并在说明中写 /upload（可加标题），例如：/upload 某市安全生产条例。"
                "也可以回复一条带文件的消息发送 /upload。")
RULES_USAGE = "请把职责规则表（YAML、CSV 或 XLSX）作为附件发送，并在说明中写 /rules；也可以回复带文件的消息发送 /rules。"
REMOVE_USAGE = "用法：/remove 文件标题（标题可用 /docs 查看）"
ISSUECODE_USAGE = "用法：/issuecode 人员姓名或编号，例如：/issuecode 张三"
ISSUECODE_PRIVATE = "为防止绑定码外泄，请在与我的私聊中发送 /issuecode。"


async def _admin_or_refuse(update: Update, context: ContextTypes.DEFAULT_TYPE, refusal: str) -> bool:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if await services(context).access.is_admin(context.bot, user.id):
        return True
    await send_lines(message, [esc(refusal)])
    return False


def _command_text(message: Message, context: ContextTypes.DEFAULT_TYPE) -> str:
    """What follows the command, with spaces kept (titles may contain them)."""
    return parse_command(message.text or message.caption, context.bot.username)[1]


# ---- uploads ---------------------------------------------------------------------------------
def _upload_chat(chat: Chat, svc: BotServices) -> bool:
    return chat.type == ChatType.PRIVATE or chat.id == svc.settings.admin_chat


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None or message.document is None or user is None:
        return
    command, rest = parse_command(message.caption, context.bot.username)
    if command == "rules":
        await _load_rules(update, context, message.document)
    elif command == "upload":
        await _upload(update, context, message.document, rest or None)
    elif command is None and _upload_chat(message.chat, services(context)):
        await _upload(update, context, message.document, None)
    # Otherwise a file shared in a group, or a caption meant for another command: not ours.


async def upload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = await _replied_document(update, context, UPLOAD_USAGE, NOT_ADMIN_UPLOAD)
    if document is not None:
        title = _command_text(update.effective_message, context) or None  # type: ignore[arg-type]
        await _upload(update, context, document, title)


async def rules_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = await _replied_document(update, context, RULES_USAGE, NOT_ADMIN.format(command="/rules"))
    if document is not None:
        await _load_rules(update, context, document)


async def _replied_document(update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str,
                            refusal: str) -> Document | None:
    """/upload or /rules sent as text is about the file in the message it replies to."""
    message = update.effective_message
    assert message is not None
    if not await _admin_or_refuse(update, context, refusal):
        return None
    document = document_of(message)
    if document is None:
        await send_lines(message, [esc(usage)])
    return document


async def _checked_upload(update: Update, context: ContextTypes.DEFAULT_TYPE, document: Document,
                          refusal: str) -> bool:
    """Admin and size checks, both before anything is downloaded."""
    if not await _admin_or_refuse(update, context, refusal):
        return False
    too_large = too_big(document, services(context).settings)
    if too_large is not None:
        await send_lines(update.effective_message, [esc(too_large)])  # type: ignore[arg-type]
        return False
    return True


async def _fetch(context: ContextTypes.DEFAULT_TYPE, document: Document, folder: Path,
                 status: StatusMessage, failure: str) -> Path | None:
    """Download ``document`` into ``folder``; if Telegram fails, the status message says so."""
    try:
        return await download(context.bot, document, folder)
    except TelegramError as exc:
        log.warning("download of %s failed: %s", file_name(document), exc)
        await status.finish([esc(failure)])
        return None


def _ingest(runtime: Runtime, path: Path, actor: str, title: str | None, progress: Progress) -> IngestReport:
    return runtime.knowledge.ingest(path, actor, title=title, progress=progress)


async def _upload(update: Update, context: ContextTypes.DEFAULT_TYPE, document: Document, title: str | None) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not await _checked_upload(update, context, document, NOT_ADMIN_UPLOAD):
        return
    svc = services(context)
    name = file_name(document)
    status = await StatusMessage.send(message, f"《{name}》：", f"已收到《{name}》，正在下载…")
    with tempfile.TemporaryDirectory(prefix="safetybot-upload-") as tmp:
        path = await _fetch(context, document, Path(tmp), status, f"❌ 《{name}》下载失败，请稍后重新发送。")
        if path is None:
            return
        if svc.ingest_lock.locked():
            await status.show("前一份文件还在处理，已排队…")
        async with svc.ingest_lock:
            try:
                report = await run_blocking(_ingest, svc.runtime, path, audit_actor(user), title, status.progress)
            except DuplicateContent as exc:
                await offer_choice(svc, status, name, document.file_id, title, exc, audit_actor(user))
                return
            except IngestError as exc:
                await status.finish(failure_lines(name, exc.message))
                return
            except Exception as exc:
                # The status message must not be left saying "正在…"; the traceback goes to the log.
                log.exception("ingest of %s failed", name)
                await status.finish(failure_lines(name, failure_reason(exc)))
                return
    await status.finish(report_lines(report))


# ---- duty rules ------------------------------------------------------------------------------
def _load(runtime: Runtime, path: Path, actor: str, max_bytes: int) -> UpsertResult:
    with runtime.writer_lock():
        return load_rules_file(runtime.sessions, path, actor=actor, max_bytes=max_bytes)


async def _load_rules(update: Update, context: ContextTypes.DEFAULT_TYPE, document: Document) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not await _checked_upload(update, context, document, NOT_ADMIN.format(command="/rules")):
        return
    svc = services(context)
    name = file_name(document)
    status = await StatusMessage.send(message, f"规则表《{name}》：", f"已收到规则表《{name}》，正在校验…")
    with tempfile.TemporaryDirectory(prefix="safetybot-rules-") as tmp:
        path = await _fetch(context, document, Path(tmp), status, f"❌ 规则表《{name}》下载失败，请稍后重新发送。")
        if path is None:
            return
        async with svc.ingest_lock:
            try:
                result = await run_blocking(_load, svc.runtime, path, audit_actor(user), size_limit(svc.settings))
            except RulesFileError as exc:
                await status.finish([bold(f"❌ 规则表《{name}》未加载"), *plain_lines(exc.to_text())])
                return
            except Exception as exc:
                log.exception("loading rules file %s failed", name)
                await status.finish([bold(f"❌ 规则表《{name}》未加载"), *plain_lines(failure_reason(exc))])
                return
    await status.finish([bold(f"✅ 已加载规则表《{name}》"), esc(f"{result.summary()}。")])


# ---- /remove ---------------------------------------------------------------------------------
def _find_document(runtime: Runtime, *, title: str | None = None,
                   doc_id: int | None = None) -> tuple[int, str, int] | None:
    """(id, title, passages) of the document with this title or id."""
    for doc, passages in runtime.knowledge.list_documents():
        if doc.title == title or doc.id == doc_id:
            return doc.id, doc.title, passages
    return None


async def remove_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    if not await _admin_or_refuse(update, context, NOT_ADMIN.format(command="/remove")):
        return
    title = _command_text(message, context).strip("《》 ")
    if not title:
        await send_lines(message, [esc(REMOVE_USAGE)])
        return
    found = await run_blocking(_find_document, services(context).runtime, title=title)
    if found is None:
        await send_lines(message, [esc(f"没有名为《{title}》的文件。请发送 /docs 查看已收录的文件，标题需完全一致。")])
        return
    doc_id, title, passages = found
    await send_reply(message, Reply(
        [bold(f"确定删除《{title}》吗？"), esc(f"共 {passages} 段，删除后将不再引用该文件，且无法撤销。")],
        buttons=[("确认删除", f"{REMOVE_CALLBACK}y:{doc_id}"), ("取消", f"{REMOVE_CALLBACK}n:{doc_id}")],
    ))


async def _edit_quietly(query: CallbackQuery, html: str) -> None:
    try:
        await query.edit_message_text(html)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def on_remove_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    svc = services(context)
    if not await svc.access.is_admin(context.bot, query.from_user.id):
        await query.answer("只有管理员可以删除文件。", show_alert=True)
        return
    choice, _, raw_id = query.data.removeprefix(REMOVE_CALLBACK).partition(":")
    if not raw_id.isdigit() or choice not in ("y", "n"):
        await query.answer("按钮已失效。")
        return
    if choice == "n":
        await query.answer("已取消")
        await _edit_quietly(query, esc("已取消，没有删除任何文件。"))
        return
    found = await run_blocking(_find_document, svc.runtime, doc_id=int(raw_id))
    if found is None:
        # A second tap on 确认删除, or another admin was quicker.
        await query.answer("该文件已删除，无需重复操作。")
        return
    await query.answer("正在删除…")
    _, title, _ = found
    async with svc.ingest_lock:  # not in the middle of a re-upload of the same document
        removed = await run_blocking(svc.runtime.knowledge.remove, title, audit_actor(query.from_user))
    text = f"该文件《{title}》已删除。" if removed is None else f"🗑 已删除《{title}》及其 {removed} 段条文。"
    await _edit_quietly(query, esc(text))


# ---- /issuecode ------------------------------------------------------------------------------
def _issue(runtime: Runtime, actor: Actor, ref: str) -> str:
    return runtime.ledger.issue_bind_code(actor, ref)


async def issuecode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not await _admin_or_refuse(update, context, NOT_ADMIN.format(command="/issuecode")):
        return
    if message.chat.type != ChatType.PRIVATE:
        await send_lines(message, [esc(ISSUECODE_PRIVATE)])
        return
    ref = _command_text(message, context)
    if not ref:
        await send_lines(message, [esc(ISSUECODE_USAGE)])
        return
    svc = services(context)
    actor = await svc.access.actor(context.bot, user)
    if actor is None:  # an admin always has an identity; kept for safety should that change
        await send_lines(message, [esc(NOT_ADMIN.format(command="/issuecode"))])
        return
    try:
        code = await run_blocking(_issue, svc.runtime, actor, ref)
    except LedgerError as exc:
        await send_lines(message, [esc(exc.message)])
        return
    await send_lines(message, [
        esc(f"已为“{ref}”生成绑定码：") + f"<code>{esc(code)}</code>",
        esc("请转告本人：在与本机器人的私聊中发送"),
        f"<code>/bind {esc(code)}</code>",
        esc("即可完成绑定。绑定码 24 小时内有效，只能使用一次；重新发放后旧码作废。"),
    ])


def register(application: Application) -> None:
    application.add_handler(MessageHandler(filters.Document.ALL, on_document))
    application.add_handler(CommandHandler("upload", upload_command))
    application.add_handler(CommandHandler("rules", rules_command))
    application.add_handler(CommandHandler("remove", remove_command))
    application.add_handler(CommandHandler("issuecode", issuecode))
    application.add_handler(CallbackQueryHandler(on_remove_button, pattern=f"^{REMOVE_CALLBACK}"))
    application.add_handler(CallbackQueryHandler(on_duplicate_button, pattern=f"^{DUPLICATE_CALLBACK}"))
