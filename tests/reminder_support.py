"""Set-up for the reminder delivery tests: an organisation with bound officials on the fake
Telegram server, items that are overdue / due soon on a chosen day, and a real dispatcher."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot_support import bot_settings
from fake_telegram import FakeChat, FakeTelegram, FakeUser
from ledger_support import Org, build_org
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.channels.dispatch import Dispatcher
from bot.channels.setup import channel_registry, standalone_bot
from knowledge.config import Settings
from knowledge.db import make_engine, migrate, session_factory
from knowledge.reminders.escalation import record_escalations
from knowledge.reminders.service import ReminderService

MONDAY = date(2026, 3, 2)          # a working day
CREATED = date(2026, 2, 24)        # items are registered a few working days before


@dataclass
class World:
    server: FakeTelegram
    settings: Settings
    sessions: sessionmaker[Session]
    org: Org
    users: dict[str, FakeUser]        # bound officials by name
    chats: dict[str, FakeChat]        # their private chats
    admin: FakeUser
    items: dict[str, str]             # label -> item number

    def service(self) -> ReminderService:
        return ReminderService(self.org.at(MONDAY))

    def dispatcher(self, bot: Bot, **options: Any) -> Dispatcher:
        service = self.service()
        return Dispatcher(self.sessions, channel_registry(self.settings, bot), service.plan,
                          record_escalations=record_escalations, mark_undeliverable=service.mark_undeliverable,
                          **options)

    def bot(self, **options: Any) -> Bot:
        return standalone_bot(self.settings, **options)

    def texts_to(self, user: FakeUser) -> list[str]:
        return [c.result.get("text", "") for c in self.server.calls("sendMessage", chat_id=user.id)]


def build_world(server: FakeTelegram, settings: Settings, tmp_path: Path, models_dir: Path,
                **extra: Any) -> World:
    admin = server.user("王主任")
    server.private_chat(admin)
    bot = bot_settings(server, tmp_path / "data", models_dir, database_url=settings.database_url,
                       load_bundled=False, admin_ids=[admin.id], **extra)
    engine = make_engine(bot.db_url)
    migrate(engine)
    sessions = session_factory(engine)
    org = build_org(sessions, bot, today=CREATED)
    users: dict[str, FakeUser] = {}
    chats: dict[str, FakeChat] = {}
    for name in ("张三", "李四", "钱七"):  # 赵六 stays unbound
        users[name] = server.user(name)
        chats[name] = server.private_chat(users[name])
        org.svc.redeem_bind_code(org.svc.issue_bind_code(org.admin, name), users[name].id)
    items = {
        # due 2026-02-26: three working days overdue on Monday 2026-03-02
        "overdue": org.item(description="配电箱未接地，电缆老化破损", deadline="2个工作日"),
        "soon": org.item(description="消防通道堆放杂物", deadline="6个工作日"),
        "zhao": org.item(description="西街道仓库灭火器过期", unit="西街道", responsible_official="赵六",
                         supervising_unit="乙区", deadline="2个工作日"),
    }
    return World(server, bot, sessions, org, users, chats, admin, items)
