"""Shared set-up for the group-robot tests: an organisation with overdue items, robots of each
platform on the fake servers, and the dispatcher wired the way the bot wires it."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import httpx
from fake_robots import FakeDingTalk, FakeFeishu, FakeRobot, FakeRobotServer, FakeWeCom
from ledger_support import Org, build_org
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.dispatch import Dispatcher
from bot.channels.feishu import FeishuChannel
from bot.channels.robots import robot_dispatcher
from bot.channels.webhook_robot import WebhookRobotChannel
from knowledge.config import Settings
from knowledge.group_robots import RobotChannelService, RobotKind
from knowledge.reminders.service import ReminderService

CREATED = date(2026, 3, 2)      # a Monday; items are recorded on this day
LATER = date(2026, 3, 16)       # two weeks on: the items are overdue
ZHANG_PHONE = "13800001111"
ZHAO_PHONE = "13900002222"


@dataclass
class Servers:
    wecom: FakeWeCom
    dingtalk: FakeDingTalk
    feishu: FakeFeishu

    def of(self, kind: str) -> FakeRobotServer:
        return getattr(self, kind)


@dataclass
class RobotWorld:
    org: Org
    robots: RobotChannelService
    reminders: ReminderService

    def add(self, server: FakeRobotServer, kind: str, unit: str = "甲区", secret: str | None = None,
            name: str | None = None, registered_secret: str | None = None) -> tuple[str, FakeRobot]:
        """A robot on ``server``; ``registered_secret`` differs from the robot's to simulate a typo."""
        robot = server.add_robot(secret=secret)
        view = self.robots.add(self.org.admin, unit, kind, server.url(robot),
                               registered_secret if registered_secret is not None else secret, name)
        return view.name, robot


def robot_world(sessions: sessionmaker[Session], settings: Settings, items: int = 2) -> RobotWorld:
    org = build_org(sessions, settings, today=CREATED)
    org.svc.update_official(org.admin, "张三", phone=ZHANG_PHONE)
    org.svc.update_official(org.admin, "赵六", phone=ZHAO_PHONE)
    for n in range(items):
        org.item(description=f"二楼仓库安全出口被货物堵塞（第{n + 1}处）", deadline="3个工作日")
    ledger = org.at(LATER)
    return RobotWorld(org, RobotChannelService(ledger), ReminderService(ledger))


# The platforms' own windows, but no waiting for 飞书's :00/:30 marks when a test runs at them.
TEST_LIMITS = {RobotKind.FEISHU: replace(FeishuChannel.default_limits, quiet=None)}


def dispatcher(world: RobotWorld, client: httpx.AsyncClient, **options: object
               ) -> tuple[Dispatcher, dict[str, WebhookRobotChannel]]:
    return robot_dispatcher(world.robots.ledger, client=client, limits=TEST_LIMITS, **options)
