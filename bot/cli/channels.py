"""`safetybot channels add|list|test|remove`: 企业微信/钉钉/飞书 group robots of units.

Webhook keys and secrets are shown masked everywhere; ``--webhook -`` and ``--secret -`` read
them from standard input (a hidden prompt in a terminal) so they stay out of shell history and
the process list.
"""
from __future__ import annotations

import asyncio
import dataclasses
import sys
from typing import TYPE_CHECKING

import click

from bot.channels.base import Outcome
from bot.cli.common import emit, format_option
from bot.cli.ledger import ledger_actor, ledger_errors, ledger_service

if TYPE_CHECKING:  # the robots stack (httpx, cryptography) loads only in a channels command
    from knowledge.group_robots import RobotChannelService, RobotChannelView

OUTCOME_TEXT = {
    Outcome.SENT: "已送达",
    Outcome.RETRY: "暂时未送达（平台限流或网络故障），请稍后再试",
    Outcome.UNDELIVERABLE: "未送达，机器人已标记为失效",
    Outcome.UNKNOWN: "平台未及时响应，消息可能已送达，请到群里确认",
}


def _robots(ctx: click.Context) -> RobotChannelService:
    from knowledge.group_robots import RobotChannelService

    root = ctx.find_root()
    if "robot_service" not in root.meta:
        root.meta["robot_service"] = RobotChannelService(ledger_service(ctx))
    return root.meta["robot_service"]


def _read_secret(value: str | None, prompt: str) -> str | None:
    if value != "-":
        return value
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True)
    return sys.stdin.readline().strip()


def _line(v: RobotChannelView) -> str:
    state = f"失效：{v.broken_reason}" if v.broken else "正常"
    signed = f"，加签 {v.secret}" if v.secret else ""
    return f"{v.name}｜{v.kind_label}｜{v.unit_name or '未关联单位'}｜{state}\n  {v.webhook}{signed}"


def _dict(v: RobotChannelView) -> dict:
    return dataclasses.asdict(v)


@click.group("channels")
def channels() -> None:
    """群机器人（企业微信、钉钉、飞书）：接收单位的每日通报和提醒。"""


@channels.command("add")
@click.argument("unit")
@click.option("--kind", required=True, help="wecom（企业微信）、dingtalk（钉钉）或 feishu（飞书）。")
@click.option("--webhook", required=True, help="机器人的 Webhook 地址；写 - 则从标准输入读取。")
@click.option("--secret", help="加签密钥（钉钉、飞书开启签名校验时）；写 - 则从标准输入读取。")
@click.option("--name", help="名称（唯一），默认“单位+平台+群”。")
@format_option
@click.pass_context
@ledger_errors
def channels_add(ctx: click.Context, unit: str, kind: str, webhook: str, secret: str | None, name: str | None,
                 fmt: str) -> None:
    """为单位登记企业微信/钉钉/飞书群机器人（密钥加密保存，显示时隐去）。"""
    from knowledge.group_robots.service import parse_kind

    parse_kind(kind)
    webhook = _read_secret(webhook, "Webhook 地址") or ""
    secret = _read_secret(secret, "加签密钥")
    view = _robots(ctx).add(ledger_actor(ctx), unit, kind, webhook, secret, name)
    emit(_dict(view), fmt, f"已登记群机器人：\n{_line(view)}\n可用 safetybot channels test {view.name} 发送测试消息。")


@channels.command("list")
@click.option("--unit", help="只列出该单位的机器人。")
@format_option
@click.pass_context
@ledger_errors
def channels_list(ctx: click.Context, unit: str | None, fmt: str) -> None:
    """列出群机器人（Webhook 与密钥只显示末尾几位）。"""
    views = _robots(ctx).list(ledger_actor(ctx), unit)
    emit([_dict(v) for v in views], fmt, "\n".join(_line(v) for v in views) or "尚未登记群机器人。")


@channels.command("test")
@click.argument("name")
@format_option
@click.pass_context
@ledger_errors
def channels_test(ctx: click.Context, name: str, fmt: str) -> None:
    """发送一条测试消息，并报告是否送达（送达则解除失效标记）。"""
    service = _robots(ctx)
    actor = ledger_actor(ctx)
    view = service.get(actor, name)
    result = asyncio.run(_send_test(service, view))
    repaired = result.outcome is Outcome.SENT and service.mark_working(actor, view.name)
    text = f"{view.name}（{view.kind_label}）：{OUTCOME_TEXT[result.outcome]}"
    if result.error:
        text += f"\n原因：{result.error}"
    if repaired:
        text += "\n已解除失效标记，之后的提醒会照常发送。"
    emit({"name": view.name, "outcome": result.outcome.value, "error": result.error, "repaired": repaired}, fmt, text)
    if result.outcome is not Outcome.SENT:
        ctx.exit(1)


async def _send_test(service: RobotChannelService, view: RobotChannelView):  # type: ignore[no-untyped-def]
    from bot.channels.robots import robot_channel

    channel = robot_channel(service, view.kind, attempts=2, max_inline_wait=5.0)
    try:
        return await channel.send_test(view.name)
    finally:
        await channel.close()


@channels.command("remove")
@click.argument("name")
@format_option
@click.pass_context
@ledger_errors
def channels_remove(ctx: click.Context, name: str, fmt: str) -> None:
    """删除群机器人（记入审计日志）。"""
    view = _robots(ctx).remove(ledger_actor(ctx), name)
    emit(_dict(view), fmt, f"已删除群机器人“{view.name}”（{view.kind_label}，{view.unit_name or '未关联单位'}）。")


def register(main: click.Group) -> None:
    main.add_command(channels)
