"""`safetybot reminders plan|send|log`: the daily reminders on the command line.

``send`` runs the same engine as the bot's daily job (planner, outbox, Telegram channel through the
configured API URL), so running it while the bot runs, or twice, sends nothing twice.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

import click

from bot.channels.dispatch import DispatchReport
from bot.cli.common import emit, format_option
from bot.cli.ledger import LedgerCliError
from bot.runtime import Runtime
from knowledge.ledger import LedgerError
from knowledge.reminders.messages import Destination, Recipient
from knowledge.reminders.outbox import Outbox, OutboxEntry
from knowledge.reminders.service import ReminderService

KIND_LABELS = {"daily": "每日提醒", "digest": "群通报", "escalation": "逾期升级", "admin_summary": "送达情况汇总"}
STATE_LABELS = {"pending": "待发送", "claimed": "发送中", "sent": "已发送", "failed": "失败（将重试）",
                "undeliverable": "无法送达", "unknown": "结果未知（超时，未重发）"}

date_option = click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]),
                           help="日期 YYYY-MM-DD（默认：配置时区的今天）。")


def _runtime(ctx: click.Context) -> Runtime:
    runtime = ctx.find_object(Runtime)
    assert runtime is not None
    return runtime


def _day(runtime: Runtime, value: Any) -> date:
    return value.date() if value is not None else runtime.ledger.today()


def _chat_id(destination: Destination | None) -> int | str | None:
    if destination is None:
        return None
    return int(destination.address) if destination.address.lstrip("-").isdigit() else destination.address


def _recipient(recipient: Recipient, destination: Destination | None) -> dict[str, Any]:
    return {"kind": str(recipient.kind), "name": recipient.name, "chat_id": _chat_id(destination)}


@click.group("reminders")
def reminders() -> None:
    """每日隐患整改提醒：预览、发送、发送记录。"""


@reminders.command("plan")
@date_option
@format_option
@click.pass_context
def plan(ctx: click.Context, day: Any, fmt: str) -> None:
    """预览某天将发送的提醒（不发送）。"""
    runtime = _runtime(ctx)
    the_day = _day(runtime, day)
    try:
        from bot.channels.robots import RobotPlanner  # the plan as sent: unit-group reminders for robots

        result = RobotPlanner(ReminderService(runtime.ledger))(the_day)
    except LedgerError as exc:
        raise LedgerCliError(exc.message) from None
    deliveries = []
    lines = [f"{the_day.isoformat()}：{'工作日' if result.working_day else '非工作日，不发送提醒'}"]
    for reminder in result.reminders:
        for destination in reminder.recipient.destinations or (None,):
            deliveries.append({"recipient": _recipient(reminder.recipient, destination), "kind": str(reminder.kind),
                               "items": reminder.item_numbers})
            where = destination.address if destination else "无法送达"
            lines.append(f"- {KIND_LABELS[reminder.kind]} → {reminder.recipient.name}（{where}）："
                         f"{'、'.join(reminder.item_numbers) or ('无事项' if reminder.kind != 'admin_summary' else '')}")
    for entry in result.unreachable:
        lines.append(f"! {entry.name}：{entry.reason}，无法送达 {'、'.join(entry.items)}")
    if result.working_day and not deliveries:
        lines.append("没有需要发送的提醒。")
    emit({"date": the_day.isoformat(), "working_day": result.working_day, "deliveries": deliveries,
          "undeliverable": [{"name": u.name, "reason": u.reason} for u in result.unreachable]}, fmt, "\n".join(lines))


async def _send(runtime: Runtime, the_day: date) -> DispatchReport:
    from bot.channels.setup import channel_registry, close_channels, reminder_dispatcher, standalone_bot

    if not runtime.settings.telegram_token:  # group robots only: Telegram rows stay pending
        channels = channel_registry(runtime.settings, None, runtime.ledger)
        try:
            return await reminder_dispatcher(runtime, channels).dispatch(the_day)
        finally:
            await close_channels(channels)
    bot = standalone_bot(runtime.settings)
    async with bot:
        channels = channel_registry(runtime.settings, bot, runtime.ledger)
        try:
            return await reminder_dispatcher(runtime, channels).dispatch(the_day)
        finally:
            await close_channels(channels)


@reminders.command("send")
@date_option
@click.option("--resend-unknown", is_flag=True,
              help="先把“结果未知”（发送超时或进程中断）的提醒恢复为待发送；请先与收件人核实未收到。")
@format_option
@click.pass_context
def send(ctx: click.Context, day: Any, resend_unknown: bool, fmt: str) -> None:
    """立即发送某天的提醒；已发送的不会重发。"""
    runtime = _runtime(ctx)
    the_day = _day(runtime, day)
    if not runtime.settings.telegram_token:
        click.echo("未配置 SAFETYBOT_TELEGRAM_TOKEN：只发送群机器人的提醒，Telegram 的提醒留待下次发送。", err=True)
    if resend_unknown:
        count = Outbox(runtime.sessions).resend_unknown(the_day)
        click.echo(f"已将 {count} 条结果未知的提醒恢复为待发送。", err=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = asyncio.run(_send(runtime, the_day))
    except LedgerError as exc:
        raise LedgerCliError(exc.message) from None
    if not report.working_day:
        text = f"{the_day.isoformat()} 不是工作日，不发送提醒。"
    elif report.nothing_new:
        text = f"{the_day.isoformat()} 没有新的提醒需要发送（此前已发送 {report.skipped} 条）。"
    else:
        text = (f"{the_day.isoformat()}：已发送 {report.sent} 条，跳过 {report.skipped} 条（此前已发送），"
                f"失败 {report.failed} 条（下次运行重试），无法送达 {report.undeliverable} 条，"
                f"结果未知 {report.unknown} 条（超时，不自动重发）。")
    emit({"date": the_day.isoformat(), "working_day": report.working_day, "sent": report.sent,
          "skipped": report.skipped, "failed": report.failed, "undeliverable": report.undeliverable,
          "unknown": report.unknown}, fmt, text)


def _log_entry(row: OutboxEntry, runtime: Runtime) -> dict[str, Any]:
    clock = runtime.ledger.clock
    return {
        "recipient": {"kind": row.recipient_kind, "name": row.recipient_name,
                      "chat_id": _chat_id(Destination(row.channel, row.address))},
        "channel": row.channel,
        "kind": row.kind,
        "items": row.items,
        "state": row.state,
        "attempts": row.attempts,
        "at": clock.local(row.finished_at or row.claimed_at or row.created_at).isoformat(timespec="seconds"),
        "message_ids": row.message_ids or [],
        "error": row.error,
    }


@reminders.command("log")
@date_option
@format_option
@click.pass_context
def log_(ctx: click.Context, day: Any, fmt: str) -> None:
    """某天提醒的发送记录：发给谁、何时、状态。"""
    runtime = _runtime(ctx)
    the_day = _day(runtime, day)
    rows = [_log_entry(r, runtime) for r in Outbox(runtime.sessions).entries(the_day)]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    lines = [f"{the_day.isoformat()} 共 {len(rows)} 条："
             + "，".join(f"{STATE_LABELS.get(s, s)} {n}" for s, n in counts.items())] if rows else \
        [f"{the_day.isoformat()} 没有发送记录。"]
    for row in rows:
        lines.append(f"{row['at'][11:16]} {STATE_LABELS.get(row['state'], row['state'])} "
                     f"{KIND_LABELS.get(row['kind'], row['kind'])} → {row['recipient']['name']}（{row['recipient']['chat_id']}）"
                     f" {'、'.join(row['items'])}{'  ' + row['error'] if row['error'] else ''}")
    if counts.get("unknown"):
        lines.append(f"注意：{counts['unknown']} 条发送超时、结果未知，未自动重发；请与收件人核实。")
    emit({"date": the_day.isoformat(), "counts": counts, "deliveries": rows}, fmt, "\n".join(lines))


def register(main: click.Group) -> None:
    main.add_command(reminders)
