"""Guided steps: /report (登记隐患) and the actions that need more input — 更新进度, 申请延期,
申请复查 and 复查不通过 — started from a button or a command.

One ConversationHandler keyed by (chat, user) runs them all, so a user has at most one step open
per chat and starting another replaces it. In groups only replies to the bot (or @mentions) count
as answers: Telegram delivers those even in privacy mode, and ordinary chatter is left alone.
The draft of a step lives in ``user_data`` under the chat's id.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeVar

from telegram import ForceReply, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.telegram_bot.ledger import ops
from bot.telegram_bot.commands import command_name
from bot.telegram_bot.html_text import bold, esc
from bot.telegram_bot.ledger.common import (
    actor_or_hint,
    ledger,
    pressed_action,
    refuse,
    say,
    show_outcome,
)
from bot.telegram_bot.ledger.files import Evidence, download, evidence_of
from bot.telegram_bot.ledger.text import (
    SUMMARY_DESCRIPTION_CHARS,
    clip,
    created_lines,
    flag_lines,
)
from bot.telegram_bot.questions import addressed_text
from bot.telegram_bot.replies import keyboard
from bot.telegram_bot.services import run_blocking, services
from knowledge.ledger import Actor, HazardInput, LedgerError
from knowledge.ledger.basis import flag_major_hazard
from knowledge.ledger.models import Role
from knowledge.ledger.workdays import parse_deadline

T = TypeVar("T")
FLOW_TIMEOUT_S = 15 * 60
DRAFTS_KEY = "ledger.drafts"
END = ConversationHandler.END

# Conversation states.
DESCRIPTION, UNIT, DEADLINE, PHOTO, CONFIRM, NOTE, EVIDENCE, NEW_DEADLINE = (
    "description", "unit", "deadline", "photo", "confirm", "note", "evidence", "new_deadline")

SKIP_WORDS = frozenset({"跳过", "无", "没有", "不用", "略"})
OWN_UNIT_WORDS = frozenset({"本单位", "默认", "是"})
CONFIRM_WORDS = frozenset({"确认", "确定", "是", "好", "登记"})
CONFIRM_DATA, ABANDON_DATA = "r:ok", "r:no"
MIN_DESCRIPTION, MAX_DESCRIPTION = 4, 4000

CANCELLED = "已取消，未作任何更改。"
REPLACED = "（之前未完成的操作已取消。）"
USAGE = {
    "prog": "用法：/progress 编号 进展，例如 /progress YH-2026-0001 已清理一半货物",
    "rev": "用法：/done 编号 完成情况，例如 /done YH-2026-0001 已全部整改完毕",
    "ext": "用法：/extend 编号 新期限 理由，例如 /extend YH-2026-0001 2026-12-31 设备待到货",
}
COMMAND_ACTIONS = {"progress": "prog", "done": "rev", "extend": "ext"}
# "/extend 编号 10 个工作日 理由": the deadline may contain spaces before its unit.
_EXTEND_ARGS = re.compile(r"^(\S+?(?:\s*个?\s*(?:工作日|自然日|天|日))?)(?:\s+(.*))?$", re.S)
_CAPTION_COMMAND = r"^/(progress|done)(@\w+)?(\s|$)"


@dataclass
class Draft:
    kind: str  # "report", or the chat action: prog / rev / ext / no
    number: str | None = None
    version: int | None = None
    current_deadline: date | None = None
    description: str = ""
    unit_ref: str | None = None
    unit_name: str | None = None
    location: str | None = None
    deadline: date | None = None
    deadline_text: str | None = None  # typed with /extend; counted from the current deadline
    note: str | None = None
    evidence: Evidence | None = None
    evidence_skipped: bool = False


class _ForBot(filters.MessageFilter):
    """Messages that answer the bot: anything in private; in groups a reply to it or an @mention."""

    def filter(self, message: Message) -> bool:
        if message.chat.type == ChatType.PRIVATE:
            return True
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        return f"@{bot.username}".lower() in (message.text or message.caption or "").lower()


FOR_BOT = _ForBot(name="ledger_for_bot")
_TEXT = filters.TEXT & ~filters.COMMAND & FOR_BOT
_CANCEL = filters.Regex(r"^\s*(@\w+\s*)?(取消|算了)\s*$")
ANSWER_TEXT = _TEXT & ~_CANCEL  # so "取消" reaches the fallback in every state
CANCEL_TEXT = _TEXT & _CANCEL
ANSWER_FILE = (filters.PHOTO | filters.Document.ALL) & FOR_BOT


# ---- drafts ---------------------------------------------------------------------------------
def _drafts(context: ContextTypes.DEFAULT_TYPE) -> dict[int, Draft]:
    assert context.user_data is not None
    return context.user_data.setdefault(DRAFTS_KEY, {})


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _draft(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Draft | None:
    return _drafts(context).get(_chat_id(update))


def _begin(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft) -> list[str]:
    """Open ``draft``; a notice line if it replaces an unfinished one."""
    replaced = _drafts(context).get(_chat_id(update)) is not None
    _drafts(context)[_chat_id(update)] = draft
    return [esc(REPLACED)] if replaced else []


def _drop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _drafts(context).pop(_chat_id(update), None)


def _answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    message = update.effective_message
    if message is None or message.text is None:
        return ""
    return (addressed_text(message, context.bot) or message.text).strip()


async def _received_evidence(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Evidence | None:
    """The photo/file of this message if the ledger will accept it; None after saying why not.

    Checked on receipt (downloaded once to look at its content), so a wrong file costs the user
    one resend rather than the whole dialogue; the file is fetched again when the step is saved.
    """
    message = update.effective_message
    evidence = evidence_of(message) if message is not None else None
    if evidence is None:
        return None
    try:
        await _with_files(context, evidence, lambda files: run_blocking(ops.check_files, ledger(context), files))
    except LedgerError as exc:
        await say(update, context, [esc(exc.message), esc("请换一个照片或文件重新发送。")])
        return None
    return evidence


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE, lines: list[str], placeholder: str) -> None:
    await say(update, context, lines, ForceReply(selective=True, input_field_placeholder=placeholder))


async def _lost(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    """A state without its draft (should not happen): end cleanly rather than guess."""
    await say(update, context, [esc("这一步已结束，请重新开始。")])
    return END


# ---- /report ----------------------------------------------------------------------------------
async def report_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    actor = await actor_or_hint(update, context)
    if actor is None:
        return None
    if actor.role == Role.VIEWER:
        await refuse(update, "您的账号为只读权限，不能登记隐患。")
        return None
    draft = Draft("report")
    notice = _begin(update, context, draft)
    description = " ".join(context.args or []).strip()
    if description:
        return await _take_description(update, context, draft, actor, description, notice)
    await _ask(update, context, [*notice, bold("登记隐患（随时发送 /cancel 取消）"),
                                 esc("第1步：请描述隐患情况（在哪里、什么问题）：")], "隐患描述")
    return DESCRIPTION


async def _take_description(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft, actor: Actor,
                            text: str, notice: list[str] | None = None) -> object:
    if len(text) < MIN_DESCRIPTION or len(text) > MAX_DESCRIPTION:
        await _ask(update, context, [esc(f"隐患描述应为{MIN_DESCRIPTION}到{MAX_DESCRIPTION}字，请具体说明隐患情况：")],
                   "隐患描述")
        return DESCRIPTION
    draft.description = text
    hint = f"回复“本单位”即为{actor.unit_name}；" if actor.unit_id is not None else ""
    await _ask(update, context, [*(notice or []), esc("第2步：隐患所在单位？"),
                                 esc(f"{hint}也可写单位名称，后面可加具体位置，例如：东街道 二楼仓库")], "单位 位置")
    return UNIT


async def on_description(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    actor = await actor_or_hint(update, context)
    if actor is None:
        _drop(update, context)
        return END
    return await _take_description(update, context, draft, actor, _answer_text(update, context))


async def _resolve_unit(context: ContextTypes.DEFAULT_TYPE, actor: Actor, text: str) -> tuple[str, str, str | None]:
    """(unit reference, unit name, location) from "本单位", "单位" or "单位 位置"."""
    head, _, rest = text.partition(" ")
    if text in OWN_UNIT_WORDS or head in OWN_UNIT_WORDS:
        if actor.unit_id is None:
            raise LedgerError("您的账号未关联单位，请写明隐患所在单位的名称。")
        ref, name = await run_blocking(ops.unit_choice, ledger(context), actor, f"#{actor.unit_id}")
        return ref, name, (rest.strip() or None) if head in OWN_UNIT_WORDS else None
    try:
        ref, name = await run_blocking(ops.unit_choice, ledger(context), actor, text)
        return ref, name, None
    except LedgerError:
        if not rest.strip():
            raise
        try:
            ref, name = await run_blocking(ops.unit_choice, ledger(context), actor, head)
        except LedgerError:
            raise LedgerError(f"未找到单位“{head}”，请核对名称（可写“上级/单位”）。") from None
        return ref, name, rest.strip()


async def on_unit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    actor = await actor_or_hint(update, context)
    if actor is None:
        _drop(update, context)
        return END
    try:
        draft.unit_ref, draft.unit_name, draft.location = await _resolve_unit(
            context, actor, " ".join(_answer_text(update, context).split()))
    except LedgerError as exc:
        await _ask(update, context, [esc(exc.message), esc("请重新回复隐患所在单位：")], "单位 位置")
        return UNIT
    await _ask(update, context, [esc("第3步：整改时限？可写日期（如 2026-12-31）或“10个工作日”“15天”：")], "整改时限")
    return DEADLINE


async def on_deadline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    svc = ledger(context)
    try:
        draft.deadline = await run_blocking(parse_deadline, _answer_text(update, context), svc.today(), svc.calendar)
    except LedgerError as exc:
        await _ask(update, context, [esc(exc.message)], "整改时限")
        return DEADLINE
    await _ask(update, context, [esc(f"整改时限：{draft.deadline.isoformat()}。"),
                                 esc("第4步：如有现场照片或文件请直接发送；没有请回复“跳过”。")], "跳过")
    return PHOTO


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    evidence = await _received_evidence(update, context)
    if evidence is None:
        return PHOTO
    draft.evidence = evidence
    return await _confirm(update, context, draft)


async def on_photo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    if _answer_text(update, context) not in SKIP_WORDS:
        await _ask(update, context, [esc("请发送照片或文件；没有请回复“跳过”。")], "跳过")
        return PHOTO
    return await _confirm(update, context, draft)


async def _confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft) -> object:
    where = f"{draft.unit_name}" + (f"，{draft.location}" if draft.location else "")
    lines = [
        bold("请确认登记以下隐患："),
        esc(f"隐患描述：{clip(draft.description, SUMMARY_DESCRIPTION_CHARS)}"),
        esc(f"所在单位：{where}"),
        esc(f"整改时限：{draft.deadline.isoformat() if draft.deadline else ''}"),
        esc(f"现场照片/文件：{'1 个' if draft.evidence else '无'}"),
        *flag_lines(flag_major_hazard(draft.description)),
        esc("确认请点“确认登记”或回复“确认”。"),
    ]
    await say(update, context, lines, keyboard([("确认登记", CONFIRM_DATA), ("取消", ABANDON_DATA)]))
    return CONFIRM


async def on_confirm_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    if _answer_text(update, context) not in CONFIRM_WORDS:
        await say(update, context, [esc("请回复“确认”登记，或“取消”放弃。")])
        return CONFIRM
    return await _create(update, context)


async def on_confirm_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    query = update.callback_query
    assert query is not None
    if query.data == ABANDON_DATA:
        return await cancel(update, context)
    await query.answer("正在登记…")
    try:
        await query.edit_message_reply_markup(None)  # the choice is made; the buttons go
    except TelegramError:
        pass  # cosmetic only
    return await _create(update, context)


async def _create(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None or draft.unit_ref is None or draft.deadline is None:
        return await _lost(update, context)
    actor = await actor_or_hint(update, context)
    if actor is None:
        _drop(update, context)
        return END
    official = actor.role == Role.OFFICIAL
    data = HazardInput(
        description=draft.description, unit=draft.unit_ref, deadline=draft.deadline, location=draft.location,
        # An official reporting in chat is recording a self-inspection finding and follows it up.
        source="自查" if official else "检查", responsible_official=actor.official_id if official else None,
    )
    _drop(update, context)
    try:
        result = await _with_files(context, draft.evidence, lambda files: run_blocking(
            ops.create, ledger(context), actor, data, files))
    except LedgerError as exc:
        await say(update, context, [esc(exc.message), esc("未登记。请修改后重新发送 /report。")])
        return END
    await show_outcome(update, context, actor, result.item.number, created_lines(result, 1 if draft.evidence else 0))
    return END


async def _with_files(context: ContextTypes.DEFAULT_TYPE, evidence: Evidence | None,
                      work: Callable[[list[Path]], Awaitable[T]]) -> T:
    """Run ``work(files)`` with ``evidence`` (if any) downloaded into a temporary folder."""
    with TemporaryDirectory(prefix="safetybot-evidence-") as tmp:
        files: list[Path] = []
        if evidence is not None:
            files.append(await download(context.bot, evidence, Path(tmp),
                                        services(context).settings.max_upload_bytes))
        return await work(files)


# ---- actions that need input -------------------------------------------------------------------
async def _start_action(update: Update, context: ContextTypes.DEFAULT_TYPE, action: str, number: str,
                        version: int | None, **given: Any) -> object:
    """Check now that ``action`` is allowed, then ask for what is missing (or finish at once)."""
    actor = await actor_or_hint(update, context)
    if actor is None:
        return None
    try:
        target = await run_blocking(ops.precheck, ledger(context), actor, number, action, version)
    except LedgerError as exc:
        await refuse(update, exc.message)
        return None  # an open step (if any) stays as it was
    draft = Draft(action, number=target.number, version=target.version, current_deadline=target.deadline, **given)
    notice = _begin(update, context, draft)
    if update.callback_query is not None:
        await update.callback_query.answer()
    return await _advance(update, context, draft, notice)


async def _advance(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft,
                   notice: list[str] | None = None) -> object:
    head = [*(notice or []), bold(f"【{draft.number}】")]
    if draft.kind == "ext" and draft.deadline is None and draft.deadline_text:
        text, draft.deadline_text = draft.deadline_text, None
        problem = await _set_new_deadline(context, draft, text)
        if problem:
            await _ask(update, context, [*head, esc(problem)], "新的整改时限")
            return NEW_DEADLINE
    if draft.kind == "ext" and draft.deadline is None:
        await _ask(update, context, [*head, esc(f"请回复新的整改时限（现为 {draft.current_deadline}），"
                                                "如 2026-12-31 或“5个工作日”（从现时限起算）：")], "新的整改时限")
        return NEW_DEADLINE
    if draft.note is None:
        got = [esc("已收到照片/文件。")] if draft.evidence else []
        prompt = {
            "prog": "请用一句话回复整改进展（也可发送照片并在说明里写进展）：",
            "rev": "请回复整改完成情况：",
            "ext": "请回复延期理由：",
            "no": "请回复复查发现的问题（退回整改的理由）：",
        }[draft.kind]
        await _ask(update, context, [*head, *got, esc(prompt)], "请输入")
        return NOTE
    if draft.kind == "rev" and draft.evidence is None and not draft.evidence_skipped:
        await _ask(update, context, [*head, esc("请发送整改后的照片或文件作为证据；没有请回复“跳过”。")], "跳过")
        return EVIDENCE
    return await _finish(update, context, draft)


async def _finish(update: Update, context: ContextTypes.DEFAULT_TYPE, draft: Draft) -> object:
    _drop(update, context)
    actor = await actor_or_hint(update, context)
    if actor is None:
        return END
    svc, number, note, version = ledger(context), draft.number or "", draft.note or "", draft.version

    async def work(files: list[Path]) -> list[str]:
        if draft.kind == "prog":
            view = await run_blocking(ops.progress, svc, actor, number, note, files, version)
            return [esc(f"已记录 {view.number} 的整改进展，当前状态：{view.status}。")]
        if draft.kind == "rev":
            view = await run_blocking(ops.request_review, svc, actor, number, note, files, version)
            return [esc(f"已提交 {view.number} 的复查申请，当前状态：{view.status}，等待督办单位复查。")]
        if draft.kind == "ext":
            ext = await run_blocking(ops.request_extension, svc, actor, number, draft.deadline, note, version)
            return [esc(f"已提交 {number} 的延期申请：{ext.old_deadline} → {ext.new_deadline}，待督办单位审批。")]
        view = await run_blocking(ops.review, svc, actor, number, False, note, version)
        return [esc(f"{view.number} 复查不通过，已退回整改，当前状态：{view.status}。")]

    try:
        lines = await _with_files(context, draft.evidence, work)
    except LedgerError as exc:
        await say(update, context, [esc(exc.message)])
        return END
    if draft.evidence is not None:
        lines.append(esc("已保存照片/文件 1 个。"))
    await show_outcome(update, context, actor, number, lines)
    return END


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    parsed = await pressed_action(update)
    if parsed is None:
        return None
    action, number, version = parsed
    return await _start_action(update, context, action, number, version)


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    message = update.effective_message
    assert message is not None and message.text is not None
    action = COMMAND_ACTIONS[command_name(message.text) or ""]
    args = context.args or []
    if not args:
        await say(update, context, [esc(USAGE[action])])
        return None
    number, rest = args[0], " ".join(args[1:]).strip()
    if action != "ext":
        # A complete one-liner acts at once; evidence then comes as a captioned photo/file instead.
        return await _start_action(update, context, action, number, None, note=rest or None,
                                   evidence_skipped=bool(rest))
    match = _EXTEND_ARGS.match(rest) if rest else None
    if match is None:
        return await _start_action(update, context, action, number, None)
    return await _start_action(update, context, action, number, None, deadline_text=match.group(1),
                               note=(match.group(2) or "").strip() or None)


async def on_caption_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    """A photo or file captioned "/progress 编号 进展" or "/done 编号 说明": evidence with the step."""
    message = update.effective_message
    assert message is not None
    words = (message.caption or "").split(maxsplit=2)
    action = COMMAND_ACTIONS[command_name(words[0]) or ""]
    if len(words) < 2:
        await say(update, context, [esc(USAGE[action] + "（写在照片/文件的说明里）")])
        return None
    note = words[2].strip() if len(words) > 2 else None
    if action == "prog" and note is None:
        note = ""  # a bare photo under /progress is evidence only; it does not change the status
    return await _start_action(update, context, action, words[1], None, note=note, evidence=evidence_of(message))


async def on_note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    text = _answer_text(update, context)
    if not text:
        return NOTE
    draft.note = text
    return await _advance(update, context, draft)


async def on_note_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    if draft.kind not in ("prog", "rev"):
        await say(update, context, [esc("这一步请用文字回复。")])
        return NOTE
    evidence = await _received_evidence(update, context)
    if evidence is None:
        return NOTE
    draft.evidence = evidence
    caption = update.effective_message.caption if update.effective_message is not None else None
    draft.note = (caption or "").strip() or None
    return await _advance(update, context, draft)


async def on_evidence(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    evidence = await _received_evidence(update, context)
    if evidence is None:
        return EVIDENCE
    draft.evidence = evidence
    return await _finish(update, context, draft)


async def on_evidence_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    if _answer_text(update, context) not in SKIP_WORDS:
        await _ask(update, context, [esc("请发送照片或文件；没有请回复“跳过”。")], "跳过")
        return EVIDENCE
    draft.evidence_skipped = True
    return await _finish(update, context, draft)


async def _set_new_deadline(context: ContextTypes.DEFAULT_TYPE, draft: Draft, text: str) -> str | None:
    """Parse an extension's new deadline into ``draft``; the problem (user text) if it is not usable."""
    svc = ledger(context)
    today = svc.today()
    current = draft.current_deadline or today
    try:
        # As the ledger counts it: "N个工作日" in an extension means N more after the current deadline.
        deadline = await run_blocking(parse_deadline, text, today, svc.calendar, base=max(today, current))
    except LedgerError as exc:
        return exc.message
    if deadline <= current:
        return f"新时限应晚于现时限 {current.isoformat()}，请重新回复："
    draft.deadline = deadline
    return None


async def on_new_deadline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    draft = _draft(update, context)
    if draft is None:
        return await _lost(update, context)
    problem = await _set_new_deadline(context, draft, _answer_text(update, context))
    if problem:
        await _ask(update, context, [esc(problem)], "新的整改时限")
        return NEW_DEADLINE
    return await _advance(update, context, draft)


# ---- leaving ------------------------------------------------------------------------------------
async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    _drop(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer("已取消")
        try:
            await update.callback_query.edit_message_reply_markup(None)
        except TelegramError:
            pass  # cosmetic only
    await say(update, context, [esc(CANCELLED)])
    return END


async def timed_out(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Quietly: a message a quarter of an hour later would only puzzle a group.
    if update.effective_chat is not None:
        _drop(update, context)


def conversation() -> ConversationHandler:
    caption_command = filters.CaptionRegex(_CAPTION_COMMAND) & (filters.PHOTO | filters.Document.ALL)
    states: dict[object, list[BaseHandler[Update, Any, Any]]] = {
        DESCRIPTION: [MessageHandler(ANSWER_TEXT, on_description)],
        UNIT: [MessageHandler(ANSWER_TEXT, on_unit)],
        DEADLINE: [MessageHandler(ANSWER_TEXT, on_deadline)],
        PHOTO: [MessageHandler(ANSWER_FILE, on_photo), MessageHandler(ANSWER_TEXT, on_photo_text)],
        CONFIRM: [CallbackQueryHandler(on_confirm_button, pattern=f"^({CONFIRM_DATA}|{ABANDON_DATA})$"),
                  MessageHandler(ANSWER_TEXT, on_confirm_text)],
        NOTE: [MessageHandler(ANSWER_FILE, on_note_file), MessageHandler(ANSWER_TEXT, on_note)],
        EVIDENCE: [MessageHandler(ANSWER_FILE, on_evidence), MessageHandler(ANSWER_TEXT, on_evidence_text)],
        NEW_DEADLINE: [MessageHandler(ANSWER_TEXT, on_new_deadline)],
        ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
    }
    with warnings.catch_warnings():
        # Steps are tracked per (chat, user) on purpose, not per message: a step started by a
        # button continues with the user's next message, which per_message cannot follow.
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler("report", report_start),
                CommandHandler(list(COMMAND_ACTIONS), on_command),
                MessageHandler(caption_command, on_caption_command),
                CallbackQueryHandler(on_button, pattern=r"^h:(prog|ext|rev|no):"),
            ],
            states=states,
            fallbacks=[CommandHandler("cancel", cancel), MessageHandler(CANCEL_TEXT, cancel)],
            allow_reentry=True,
            per_chat=True,
            per_user=True,
            conversation_timeout=FLOW_TIMEOUT_S,
            name="ledger",
        )
