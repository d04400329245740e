"""The command menus Telegram shows, per scope (private chats, groups, admins)."""
from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeChatAdministrators,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from knowledge.config import Settings

log = logging.getLogger(__name__)

QUESTIONS = [
    ("ask", "问法规：/ask 动火作业谁审批"),
    ("who", "问职责：/who 电焊作业谁负责"),
    ("law", "查条文：/law 安全生产法 41"),
]
LEDGER = [
    ("hazards", "我的隐患和本单位隐患"),
    ("hazard", "查看一条隐患：/hazard 编号"),
    ("report", "登记新隐患（可附照片）"),
    ("progress", "更新整改进度：/progress 编号 进展"),
    ("done", "申请复查销号：/done 编号 说明"),
    ("extend", "申请延期：/extend 编号 新期限 理由"),
    ("stats", "整改情况排名（表格和图）"),
]
GENERAL = [
    ("docs", "已收录的法规和文件"),
    ("cancel", "取消正在进行的登记或操作"),
    ("help", "使用说明"),
]
PRIVATE_ONLY = [
    ("start", "开始使用"),
    ("bind", "绑定账号：/bind 绑定码"),
    ("remind", "今天会提醒我哪些事项"),
]
ADMIN = [
    ("upload", "上传文件入库（发送文件时附上 /upload）"),
    ("remove", "删除文件：/remove 文件标题"),
    ("rules", "上传职责规则表（发送文件时附上 /rules）"),
    ("issuecode", "发放绑定码：/issuecode 人员姓名"),
    ("linkgroup", "在群里发送：本群接收某单位的每日通报"),
    ("unlinkgroup", "在群里发送：本群不再接收通报"),
    ("channels", "群机器人：/channels，/channels test 名称"),
]

PRIVATE_COMMANDS = PRIVATE_ONLY[:1] + QUESTIONS + LEDGER + GENERAL + PRIVATE_ONLY[1:]
GROUP_COMMANDS = QUESTIONS + LEDGER + GENERAL
ADMIN_PRIVATE_COMMANDS = PRIVATE_COMMANDS + ADMIN
ADMIN_GROUP_COMMANDS = GROUP_COMMANDS + ADMIN


def command_name(text: str | None) -> str | None:
    """"/done@safety_bot YH-1 …" → "done"; None when the text is not a command."""
    text = (text or "").strip()
    if not text.startswith("/"):
        return None
    return text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()


def _commands(pairs: list[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in pairs]


def menus(settings: Settings) -> list[tuple[BotCommandScope, list[tuple[str, str]]]]:
    scopes: list[tuple[BotCommandScope, list[tuple[str, str]]]] = [
        (BotCommandScopeDefault(), PRIVATE_COMMANDS),
        (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
        (BotCommandScopeAllGroupChats(), GROUP_COMMANDS),
    ]
    # A user's private chat has the user's id, so this scope is "this admin, in private".
    scopes += [(BotCommandScopeChat(admin_id), ADMIN_PRIVATE_COMMANDS) for admin_id in settings.admin_ids]
    if settings.admin_chat is not None:
        scopes.append((BotCommandScopeChatAdministrators(settings.admin_chat), ADMIN_GROUP_COMMANDS))
    return scopes


async def publish(bot: Bot, settings: Settings) -> None:
    for scope, pairs in menus(settings):
        try:
            await bot.set_my_commands(_commands(pairs), scope=scope)
        except TelegramError as exc:
            # A missing admin chat must not keep the bot from starting; the menu is a convenience.
            log.warning("setMyCommands for %s failed: %s", scope.type, exc)


async def publish_for_admin(bot: Bot, chat_id: int) -> None:
    """Admin menu in one admin's private chat. Telegram knows that chat only once the admin has
    opened it, so the start-up attempt may have failed; /start tries again."""
    try:
        await bot.set_my_commands(_commands(ADMIN_PRIVATE_COMMANDS), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        log.warning("setMyCommands for admin chat %s failed: %s", chat_id, exc)
