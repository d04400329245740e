"""Size limits: long reminders end with "还有 N 项" and are accepted by the fake platforms whole."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import httpx
from robot_support import robot_world

from bot.channels.base import Outcome
from bot.channels.robot_text import MAX_ITEMS, reminder_text
from bot.channels.robots import robot_channels
from bot.channels.feishu import FeishuChannel
from knowledge.group_robots import RobotKind
from knowledge.reminders.messages import (
    DigestCounts,
    Recipient,
    RecipientKind,
    Reminder,
    ReminderItem,
    ReminderKind,
    Urgency,
)

DAY = date(2026, 3, 16)


def _items(n: int) -> tuple[ReminderItem, ...]:
    return tuple(ReminderItem(
        number=f"YH-2026-{i:04d}", description="配电室电缆沟盖板缺失、积水严重，且应急照明不亮、灭火器过期未检" * 2,
        deadline=date(2026, 3, 5), urgency=Urgency.OVERDUE, working_days=7, responsible_unit=f"东街道第{i}社区",
        responsible_official=f"责任人{i}", responsible_phone=f"1380000{i:04d}") for i in range(1, n + 1))


def _numbers(text: str) -> list[str]:
    return re.findall(r"YH-2026-\d{4}", text)


async def test_long_reminders_are_shortened_whole_on_every_platform(sessions, settings, wecom_server,
                                                                    dingtalk_server, feishu_server) -> None:
    world = robot_world(sessions, settings.model_copy(update={"reminder_mention": True}), items=0)
    digest = Reminder(DAY, ReminderKind.DIGEST, Recipient(RecipientKind.GROUP, "甲区", unit_id=2),
                      _items(60), counts=DigestCounts(open=60, overdue=60))
    daily = replace(digest, kind=ReminderKind.DAILY, counts=None)
    robots = {kind: world.add(server, kind) for kind, server in
              (("wecom", wecom_server), ("dingtalk", dingtalk_server), ("feishu", feishu_server))}
    limits = {RobotKind.FEISHU: replace(FeishuChannel.default_limits, quiet=None)}
    async with httpx.AsyncClient() as client:
        channels = robot_channels(world.robots, client=client, limits=limits)
        for kind, (name, _) in robots.items():
            for reminder in (digest, daily):
                assert (await channels[kind].deliver(name, reminder)).outcome is Outcome.SENT
    for kind, (_, robot) in robots.items():
        assert robot.rejected == []
        for arrival in robot.received:
            shown = _numbers(arrival.text)
            assert 0 < len(shown) <= MAX_ITEMS
            assert shown == [f"YH-2026-{i:04d}" for i in range(1, len(shown) + 1)]  # most urgent first, none cut
            assert f"……还有 {60 - len(shown)} 项，请在隐患台账中查看。" in arrival.text
            # every listed item is complete: its deadline and overdue days follow its number
            assert arrival.text.count("截止3月5日，逾期7个工作日") == len(shown)
    wecom_daily = robots["wecom"][1].received[1]
    assert len(wecom_daily.text.encode()) <= 2048 < len(reminder_text(daily, mention=True).items) * 200
    # only the officials of the listed items are @-mentioned
    assert list(wecom_daily.mentions) == [f"1380000{i:04d}" for i in range(1, len(_numbers(wecom_daily.text)) + 1)]
