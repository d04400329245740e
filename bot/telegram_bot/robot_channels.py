"""``/channels`` in Telegram: admins list group robots, send a test line, remove one.

Adding a robot is refused in chat on purpose: a webhook URL carries the robot's key and the
signing secret is a password; typed into a chat, both stay in the chat history (on every member's
device and on Telegram's servers). Robots are added on the server: ``safetybot channels add``.
"""
from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.channels.base import Outcome
from bot.channels.robots import robot_channel
from bot.telegram_bot.admin_chat import NOT_ADMIN, _admin_or_refuse, _command_text
from bot.telegram_bot.html_text import esc
from bot.telegram_bot.replies import send_lines
from bot.telegram_bot.services import run_blocking, services
from knowledge.group_robots import RobotChannelService, RobotChannelView
from knowledge.ledger import LedgerError

USAGE = ("用法：/channels 查看群机器人；/channels test 名称 发送测试消息；/channels remove 名称 删除。\n"
         "登记新机器人请在服务器上运行 safetybot channels add。")
NO_ADD_IN_CHAT = ("为防止泄露，请不要在聊天中发送机器人的 Webhook 地址或加签密钥（聊天记录会保存在每位成员的设备和服务器上）。"
                  "请在服务器上运行：safetybot channels add 单位 --kind wecom|dingtalk|feishu --webhook - --secret -")
RESULT = {
    Outcome.SENT: "✅ 测试消息已送达。",
    Outcome.RETRY: "暂时未送达（平台限流或网络故障），请稍后再试。",
    Outcome.UNDELIVERABLE: "❌ 未送达，机器人已标记为失效。",
    Outcome.UNKNOWN: "平台未及时响应，消息可能已送达，请到群里确认。",
}


def _line(v: RobotChannelView) -> str:
    state = f"失效：{v.broken_reason}" if v.broken else "正常"
    return f"• {v.name}（{v.kind_label}，{v.unit_name or '未关联单位'}）{state}"


async def channels_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not await _admin_or_refuse(update, context, NOT_ADMIN.format(command="/channels")):
        return
    svc = services(context)
    actor = await svc.access.actor(context.bot, user)
    if actor is None:
        return
    robots = RobotChannelService(svc.runtime.ledger)
    verb, _, name = _command_text(message, context).partition(" ")
    name = name.strip()
    try:
        if verb in ("", "list", "列表"):
            views = await run_blocking(robots.list, actor)
            lines = [_line(v) for v in views] or ["尚未登记群机器人。"]
            await send_lines(message, [esc(line) for line in ["群机器人：", *lines]])
        elif verb in ("add", "添加"):
            await send_lines(message, [esc(NO_ADD_IN_CHAT)])
        elif verb in ("test", "测试") and name:
            view = await run_blocking(robots.get, actor, name)
            channel = robot_channel(robots, view.kind, attempts=2, max_inline_wait=5.0)
            try:
                result = await channel.send_test(view.name)
            finally:
                await channel.close()
            lines = [f"{view.name}：{RESULT[result.outcome]}"]
            if result.error:
                lines.append(f"原因：{result.error}")
            if result.outcome is Outcome.SENT and await run_blocking(robots.mark_working, actor, view.name):
                lines.append("已解除失效标记，之后的提醒会照常发送。")
            await send_lines(message, [esc(line) for line in lines])
        elif verb in ("remove", "删除") and name:
            view = await run_blocking(robots.remove, actor, name)
            await send_lines(message, [esc(f"已删除群机器人“{view.name}”（{view.kind_label}）。")])
        else:
            await send_lines(message, [esc(USAGE)])
    except LedgerError as exc:
        await send_lines(message, [esc(exc.message)])


def register(application: Application) -> None:
    application.add_handler(CommandHandler("channels", channels_command))
