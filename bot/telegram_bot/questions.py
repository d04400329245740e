"""Questions in chat: plain text (private, or addressed in a group), /ask, /who, /law, and the
查看原文 buttons under answers."""
from __future__ import annotations

from telegram import Bot, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.router import RoutedAnswer, route_answer
from bot.runtime import Runtime
from bot.telegram_bot.html_text import bold, esc, plain_lines
from bot.telegram_bot.replies import Reply, send_lines, send_reply
from bot.telegram_bot.services import run_blocking, services
from index.answer import Citation
from index.knowledge_base import QuestionError
from knowledge.duties.answer import DutyAnswer

ARTICLE_CALLBACK = "p:"
RELATED_BUTTONS = 3
BASIS_BUTTONS = 8

ASK_USAGE = "请在命令后写上问题，例如：/ask 动火作业谁审批？"
WHO_USAGE = "请在命令后写上事项，例如：/who 电焊作业安全谁负责？"
LAW_USAGE = "用法：/law 法规名 条号，例如：/law 安全生产法 41"


# ---- building replies (worker thread) --------------------------------------------------------
def _answer_lines(text: str) -> list[str]:
    lines = plain_lines(text)
    if lines:
        lines[0] = bold(text.split("\n", 1)[0])
    return lines


def _citation_label(c: Citation) -> str:
    return f"{c.document}{c.article or ''}"


def retrieval_reply(routed: RoutedAnswer) -> Reply:
    answer = routed.answer
    reply = Reply(_answer_lines(answer.answer))
    if answer.abstained or answer.kind == "reference" or not answer.citations:
        return reply
    top, related = answer.citations[0], answer.citations[1:1 + RELATED_BUTTONS]
    reply.buttons.append(("查看原文", f"{ARTICLE_CALLBACK}{top.passage_id}"))
    reply.buttons += [(_citation_label(c), f"{ARTICLE_CALLBACK}{c.passage_id}") for c in related]
    return reply


def duty_reply(runtime: Runtime, duty: DutyAnswer) -> Reply:
    text = duty.to_text()
    lines = [bold(line) if line.startswith(("【", "▌")) else esc(line) for line in text.split("\n")]
    reply = Reply(lines)
    cites = dict.fromkeys((b.document, b.article) for d in duty.duties for b in d.basis)
    for document, article in list(cites)[:BASIS_BUTTONS]:
        found = runtime.knowledge.article_by_label(document, article)
        if found is not None:
            reply.buttons.append((f"{document}{article}", f"{ARTICLE_CALLBACK}{found.passage_id}"))
    return reply


def question_reply(runtime: Runtime, question: str) -> Reply:
    routed = route_answer(runtime, question)
    if routed.duties is not None:
        return duty_reply(runtime, routed.duties)
    return retrieval_reply(routed)


def who_reply(runtime: Runtime, question: str) -> Reply:
    runtime.knowledge.analyze(question)  # same validation (empty, too long) as other questions
    duty = runtime.duties.answer(question)
    if duty is not None:
        return duty_reply(runtime, duty)
    reply = question_reply(runtime, question)
    if not reply.lines[0].startswith("<b>【"):
        reply.lines.insert(0, esc("尚未登记该事项的职责规则，以下为相关法规条文："))
    return reply


def law_reply(runtime: Runtime, reference: str) -> Reply | None:
    answer = runtime.knowledge.answer(reference)
    if answer.kind != "reference":
        return None
    return Reply(_answer_lines(answer.answer))


def article_lines(citation: Citation) -> list[str]:
    label = f"（{citation.label}）" if citation.label else ""
    head = f"《{citation.document}》{citation.article or citation.path}{label}"
    return [bold(head), *plain_lines(citation.text.strip())]


# ---- addressing ------------------------------------------------------------------------------
def addressed_text(message: Message, bot: Bot) -> str | None:
    """The question in ``message`` if it is meant for the bot, else None.

    In a private chat every text is a question. In a group only an @mention of the bot or a reply
    to one of its messages counts, so ordinary conversation in the group is left alone.
    """
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    mention = f"@{bot.username}".lower()
    addressed = bool(message.reply_to_message and message.reply_to_message.from_user
                     and message.reply_to_message.from_user.id == bot.id)
    for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
        if (entity.type == MessageEntity.MENTION and value.lower() == mention) or \
                (entity.user is not None and entity.user.id == bot.id):
            addressed = True
            text = text.replace(value, " ")
    return text.strip() if addressed else None


# ---- handlers --------------------------------------------------------------------------------
async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str, *, who: bool = False) -> None:
    message = update.effective_message
    assert message is not None
    runtime = services(context).runtime
    try:
        reply = await run_blocking(who_reply if who else question_reply, runtime, question)
    except QuestionError as exc:
        await send_lines(message, [esc(exc.message)])
        return
    await send_reply(message, reply)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    question = addressed_text(message, context.bot)
    if question is None:
        return
    if not question:
        await send_lines(message, [esc("请直接写下要问的问题，例如：动火作业要注意什么？")])
        return
    await _answer(update, context, question)


def _args_text(context: ContextTypes.DEFAULT_TYPE) -> str:
    return " ".join(context.args or []).strip()


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    question = _args_text(context)
    if not question:
        await send_lines(update.effective_message, [esc(ASK_USAGE)])  # type: ignore[arg-type]
        return
    await _answer(update, context, question)


async def who(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    question = _args_text(context)
    if not question:
        await send_lines(update.effective_message, [esc(WHO_USAGE)])  # type: ignore[arg-type]
        return
    await _answer(update, context, question, who=True)


async def law(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    reference = _args_text(context)
    reply = None
    if reference:
        try:
            reply = await run_blocking(law_reply, services(context).runtime, reference)
        except QuestionError as exc:
            await send_lines(message, [esc(exc.message)])
            return
    if reply is None:
        lines = [esc(f"没能识别“{reference}”中的法规名和条号。")] if reference else []
        await send_lines(message, [*lines, esc(LAW_USAGE)])
        return
    await send_reply(message, reply)


async def show_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        passage_id = int(query.data.removeprefix(ARTICLE_CALLBACK))
    except ValueError:
        await query.answer("按钮已失效。", show_alert=False)
        return
    citation = await run_blocking(services(context).runtime.knowledge.passage, passage_id)
    if citation is None:
        # The document was replaced or removed since the answer was given.
        await query.answer("该条文已更新或删除，请重新提问。", show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await send_lines(query.message, article_lines(citation))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("ask", ask))
    application.add_handler(CommandHandler("who", who))
    application.add_handler(CommandHandler("law", law))
    application.add_handler(CallbackQueryHandler(show_article, pattern=f"^{ARTICLE_CALLBACK}"))


def register_fallback(application: Application) -> None:
    """Plain text is a question; registered last so conversations and uploads see it first."""
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
