"""Reminders in the bot: the daily job with catch-up, /remind, /linkgroup, /unlinkgroup, 已知悉.

The daily job is PTB's ``run_daily`` at ``SAFETYBOT_REMINDER_TIME`` in ``SAFETYBOT_TIMEZONE`` with
``misfire_grace_time=None``: APScheduler's default grace (1 s, PTB#3642) silently drops a run that
fires late (a busy event loop, a suspended machine); here a late run still runs, once (coalesced).
At start-up a catch-up runs today's reminders if the bot was down at reminder time and it is not
yet the cut-off. Whether anything is new to send is the outbox's business, so several instances,
the catch-up and a manual ``safetybot reminders send`` can all run: each reminder goes out once.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.channels.dispatch import Dispatcher, DispatchReport
from bot.channels.setup import channel_registry, reminder_dispatcher
from bot.channels.telegram.render import ACK_PREFIX, parse_ack, render
from bot.runtime import Runtime
from bot.telegram_bot.html_text import esc
from bot.telegram_bot.ledger.common import actor_or_hint, say
from bot.telegram_bot.replies import keyboard
from bot.telegram_bot.services import run_blocking
from knowledge.ledger import LedgerError
from knowledge.ledger.clock import Clock
from knowledge.ledger.workdays import HolidayCalendar
from knowledge.reminders.outbox import Outbox
from knowledge.reminders.service import ReminderService

log = logging.getLogger(__name__)
KEY = "safetybot.reminders"
DAILY_JOB = "reminders.daily"
CATCH_UP_JOB = "reminders.catch_up"

REMIND_PRIVATE = "请在与我的私聊中发送 /remind 查看今天给您的提醒。"
NOT_WORKDAY = "今天不是工作日，不发送提醒。"
NOTHING_TODAY = "今天没有需要提醒您的事项。"
LINK_USAGE = "用法：在要接收通报的群里发送 /linkgroup 单位名称"
LINK_IN_GROUP = "请在要接收通报的群里发送该命令。"
ACK_STALE = "该提醒已过期或不是发给您的。"


@dataclass
class ReminderJobs:
    """What the job and the handlers share (kept in ``application.bot_data``)."""

    runtime: Runtime
    dispatcher: Dispatcher
    service: ReminderService
    clock: Clock
    calendar: HolidayCalendar
    # One dispatch at a time in this process (the job and a catch-up could overlap).
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.runtime.settings.timezone)


def jobs(context: ContextTypes.DEFAULT_TYPE) -> ReminderJobs:
    return context.application.bot_data[KEY]


async def dispatch_if_due(rj: ReminderJobs, now: datetime) -> DispatchReport | None:
    """Send today's reminders if ``now`` is between reminder time and cut-off on a working day."""
    settings = rj.runtime.settings
    local = now.astimezone(rj.tz)
    day = local.date()
    if local.time() < settings.reminder_time:
        return None
    if local.time() >= settings.reminder_cutoff:
        log.warning("reminders for %s missed: it is past the cut-off %s; the next working day's run includes "
                    "everything", day, settings.reminder_cutoff)
        return None
    try:
        if settings.reminder_workdays_only and not rj.calendar.is_workday(day):
            log.info("reminders: %s is not a working day", day)
            return None
    except LedgerError as exc:  # a year without a holiday schedule: say so instead of guessing
        log.error("reminders for %s not sent: %s", day, exc.message)
        return None
    async with rj.lock:
        return await rj.dispatcher.dispatch(day)


async def daily(context: ContextTypes.DEFAULT_TYPE) -> None:
    rj = jobs(context)
    await dispatch_if_due(rj, rj.clock.now())


async def catch_up(context: ContextTypes.DEFAULT_TYPE) -> None:
    rj = jobs(context)
    report = await dispatch_if_due(rj, rj.clock.now())
    if report is not None:
        log.info("reminders catch-up for %s: sent %d, already sent %d", report.day, report.sent, report.skipped)


def schedule(application: Application, runtime: Runtime) -> ReminderJobs:
    """Register the daily job and the start-up catch-up on the application's JobQueue."""
    ledger = runtime.ledger
    rj = ReminderJobs(runtime, reminder_dispatcher(runtime, channel_registry(runtime.settings, application.bot, runtime.ledger)),
                      ReminderService(ledger), ledger.clock, ledger.calendar)
    application.bot_data[KEY] = rj
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is required"
    at = runtime.settings.reminder_time.replace(tzinfo=rj.tz)
    # No grace limit: a late run is still a run (PTB#3642). Coalesce: a backlog runs once.
    late_ok = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
    queue.run_daily(daily, at, name=DAILY_JOB, job_kwargs=late_ok)
    queue.run_once(catch_up, 0, name=CATCH_UP_JOB, job_kwargs=late_ok)
    return rj


# ------------------------------------------------------------------------------ chat commands
async def remind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What I would be reminded of today (the same text and buttons as the daily message)."""
    chat = update.effective_chat
    assert chat is not None
    if chat.type != ChatType.PRIVATE:
        await say(update, context, [esc(REMIND_PRIVATE)])
        return
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    rj = jobs(context)
    plan = await run_blocking(rj.service.plan, rj.clock.today())
    if not plan.working_day:
        await say(update, context, [esc(NOT_WORKDAY)])
        return
    mine = plan.for_official(actor.official_id) if actor.official_id is not None else []
    if not mine:
        await say(update, context, [esc(NOTHING_TODAY)])
        return
    for reminder in mine:
        rendered = render(reminder)
        await say(update, context, [rendered.text],
                  keyboard([cell for row in rendered.buttons for cell in row]))


async def link_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    if chat.type == ChatType.PRIVATE:
        await say(update, context, [esc(LINK_IN_GROUP)])
        return
    unit = " ".join(context.args or []).strip()
    if not unit:
        await say(update, context, [esc(LINK_USAGE)])
        return
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    rj = jobs(context)
    try:
        link = await run_blocking(rj.service.link_chat, actor, unit, "telegram", chat.id)
    except LedgerError as exc:
        await say(update, context, [esc(exc.message)])
        return
    at = rj.runtime.settings.reminder_time.strftime("%H:%M")
    await say(update, context, [esc(f"已将本群关联到“{link.unit}”：每个工作日 {at} 在本群发送该单位及下级单位的隐患整改通报。")])


async def unlink_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    assert chat is not None
    if chat.type == ChatType.PRIVATE:
        await say(update, context, [esc(LINK_IN_GROUP)])
        return
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    try:
        link = await run_blocking(jobs(context).service.unlink_chat, actor, "telegram", chat.id)
    except LedgerError as exc:
        await say(update, context, [esc(exc.message)])
        return
    await say(update, context, [esc(f"已解除本群与“{link.unit}”的关联，不再发送通报。")])


async def acknowledge(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """已知悉 under a reminder: recorded for each item of that reminder (as sent to this chat)."""
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    parsed = parse_ack(query.data)
    actor = await actor_or_hint(update, context)
    if actor is None:
        return
    rj = jobs(context)
    entry = None
    if parsed is not None:
        kind, day = parsed
        entry = await run_blocking(Outbox(rj.runtime.sessions).find, "telegram", str(query.message.chat.id), day, kind)
    if entry is None or (entry.official_id is not None and entry.official_id != actor.official_id):
        await query.answer(ACK_STALE, show_alert=True)
        return
    recorded = 0
    for number in entry.items:
        try:
            recorded += await run_blocking(rj.service.acknowledge, actor, number, entry.day)
        except LedgerError:
            continue  # closed or removed since the reminder: nothing to acknowledge
    await query.answer(f"已知悉，已记录 {recorded} 项。" if recorded else "已记录过，无需重复确认。")


def register(application: Application, runtime: Runtime) -> None:
    schedule(application, runtime)
    application.add_handler(CommandHandler("remind", remind))
    application.add_handler(CommandHandler("linkgroup", link_group))
    application.add_handler(CommandHandler("unlinkgroup", unlink_group))
    application.add_handler(CallbackQueryHandler(acknowledge, pattern=f"^{ACK_PREFIX}"))
