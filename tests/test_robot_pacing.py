"""Pacing and platform rules of the group-robot channels against the fake platform servers."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, timedelta

import httpx
import pytest
from fake_robots import FakeDingTalk, FakeFeishu
from robot_support import robot_world

from bot.channels.base import Outcome
from bot.channels.dingtalk import DingTalkChannel
from bot.channels.feishu import FeishuChannel
from bot.channels.pacer import Pacer, QuietMarks, RateWindow
from bot.channels.webhook_robot import RobotLimits
from bot.channels.wecom import WeComChannel
from knowledge.reminders.messages import DigestCounts, Recipient, RecipientKind, Reminder, ReminderKind

DAY = date(2026, 3, 16)


def _digest(n: int) -> Reminder:
    return Reminder(DAY + timedelta(days=n), ReminderKind.DIGEST, Recipient(RecipientKind.GROUP, "甲区", unit_id=2),
                    counts=DigestCounts(open=1), all_clear=True)


class ManualClock:
    """A clock the test moves; ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_pacer_keeps_every_window_with_a_controlled_clock() -> None:
    clock = ManualClock()
    pacer = Pacer((RateWindow(5, 1.0), RateWindow(100, 60.0)), margin=0.0, clock=clock, wall=clock, sleep=clock.sleep)
    sent = []
    for _ in range(120):
        async with pacer:
            sent.append(clock.now)
    for i in range(len(sent)):
        assert sum(1 for t in sent if sent[i] <= t < sent[i] + 1.0) <= 5
        assert sum(1 for t in sent if sent[i] <= t < sent[i] + 60.0) <= 100
    # 100 messages take 19.x s at 5/s; the 101st waits for the minute window.
    assert sent[100] - sent[0] >= 60.0
    assert sent[99] - sent[0] < 20.0


async def test_pacer_stays_away_from_the_half_hour_marks() -> None:
    clock = ManualClock(start=9 * 3600 + 20)  # 09:00:20 on the wall clock
    pacer = Pacer((RateWindow(5, 1.0),), quiet=QuietMarks((0, 30), 60.0), clock=clock, wall=clock, sleep=clock.sleep)
    async with pacer:
        assert clock.now % 3600 >= 60  # went out at 09:01:00, not at 09:00:20
    clock.now = 9 * 3600 + 29 * 60 + 59
    async with pacer:
        assert clock.now % 3600 == 29 * 60 + 59  # just before the mark is fine


@pytest.fixture
async def short_dingtalk():
    # The real mechanism on a 2-second window (and a 30-second block past it) instead of a minute.
    async with FakeDingTalk(window=2.0, ban=30.0) as server:
        yield server


async def test_25_messages_to_a_dingtalk_robot_are_paced_not_banned(sessions, settings, short_dingtalk) -> None:
    world = robot_world(sessions, settings, items=0)
    name, robot = world.add(short_dingtalk, "dingtalk", secret="SECtest-secret-123")
    limits = RobotLimits(windows=(RateWindow(20, 2.0),), penalty=30.0)
    async with httpx.AsyncClient() as client:
        channel = DingTalkChannel(world.robots.target, client=client, limits=limits, on_broken=world.robots.mark_broken)
        results = await asyncio.gather(*(channel.deliver(name, _digest(n)) for n in range(25)))
    assert [r.outcome for r in results] == [Outcome.SENT] * 25
    assert len(robot.received) == 25 and robot.rejected == [] and short_dingtalk.bans == 0
    times = [a.at for a in robot.received]
    assert times[20] - times[0] >= 2.0          # the 21st waited for the window
    assert times[19] - times[0] < 1.0           # the first 20 went at once


async def test_without_pacing_the_fake_blocks_the_robot_like_dingtalk(sessions, settings, short_dingtalk) -> None:
    """The control: the fake really enforces the limit, so the test above proves the pacing."""
    world = robot_world(sessions, settings, items=0)
    name, robot = world.add(short_dingtalk, "dingtalk")
    unpaced = RobotLimits(windows=(RateWindow(1000, 2.0),), penalty=30.0)
    async with httpx.AsyncClient() as client:
        channel = DingTalkChannel(world.robots.target, client=client, limits=unpaced, max_inline_wait=5.0)
        results = [await channel.deliver(name, _digest(n)) for n in range(25)]
    assert short_dingtalk.bans == 1
    assert [r.outcome for r in results].count(Outcome.SENT) == 20
    assert results[20].outcome is Outcome.RETRY and "130101" in (results[20].error or "")
    # Once throttled, the channel holds back for the platform's penalty instead of hammering.
    assert len(robot.rejected) == 1
    assert all(r.outcome is Outcome.RETRY for r in results[21:])


async def test_feishu_five_per_second_is_kept(sessions, settings) -> None:
    world = robot_world(sessions, settings, items=0)
    async with FakeFeishu() as server, httpx.AsyncClient() as client:
        name, robot = world.add(server, "feishu", secret="feishu-secret-abc")
        limits = replace(FeishuChannel.default_limits, quiet=None)
        channel = FeishuChannel(world.robots.target, client=client, limits=limits)
        results = await asyncio.gather(*(channel.deliver(name, _digest(n)) for n in range(12)))
    assert all(r.outcome is Outcome.SENT for r in results)
    assert robot.rejected == [] and len(robot.received) == 12
    times = [a.at for a in robot.received]
    assert times[10] - times[0] >= 2.0


async def test_a_throttled_answer_is_retried_after_the_window(sessions, settings) -> None:
    """Another sender used the robot's quota: 飞书 answers 11232; the channel waits and retries."""
    world = robot_world(sessions, settings, items=0)
    async with FakeFeishu(per_second=5, second=1.0) as server, httpx.AsyncClient() as client:
        name, robot = world.add(server, "feishu")
        async with httpx.AsyncClient() as other:
            for _ in range(5):  # someone else's messages fill the second
                await other.post(server.url(robot), json={"msg_type": "text", "content": {"text": "其他系统"}})
        limits = RobotLimits(windows=(RateWindow(5, 1.0),), penalty=1.0)
        channel = FeishuChannel(world.robots.target, client=client, limits=limits)
        result = await channel.deliver(name, _digest(0))
    assert result.outcome is Outcome.SENT
    assert robot.rejected == [(11232, "frequency limited")]
    assert len(robot.received) == 6


async def test_gateway_errors_are_retried_with_back_off(sessions, settings, wecom_server) -> None:
    world = robot_world(sessions, settings, items=0)
    name, robot = world.add(wecom_server, "wecom")
    wecom_server.fail_next(502, 503)
    async with httpx.AsyncClient() as client:
        channel = WeComChannel(world.robots.target, client=client, backoff=0.05)
        result = await channel.deliver(name, _digest(0))
        wecom_server.fail_next(502, 502, 502)
        failed = await channel.deliver(name, _digest(1))
    assert result.outcome is Outcome.SENT and len(robot.received) == 1
    assert failed.outcome is Outcome.RETRY and failed.error == "HTTP 502"
    assert wecom_server.requests == 6
