"""Dispatching a day's reminders through the real Telegram channel (PTB bot with the retrying rate
limiter) to the fake Bot API server, on SQLite and PostgreSQL: once, and never twice."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_telegram import FakeTelegram
from reminder_support import MONDAY, World, build_world

from knowledge.config import Settings
from knowledge.reminders.models import Escalation, Undeliverable
from knowledge.reminders.outbox import Outbox, OutboxState


@pytest.fixture
def world(tg_server: FakeTelegram, settings: Settings, tmp_path: Path, models_dir: Path) -> World:
    return build_world(tg_server, settings, tmp_path, models_dir)


def states(world: World) -> dict[str, int]:
    return Outbox(world.sessions).state_counts(MONDAY)


async def test_each_reminder_is_sent_once_and_a_second_run_sends_nothing(world: World) -> None:
    async with world.bot() as bot:
        first = await world.dispatcher(bot).dispatch(MONDAY)
        second = await world.dispatcher(bot).dispatch(MONDAY)
    zhang = world.texts_to(world.users["张三"])
    assert len(zhang) == 1, zhang
    assert world.items["overdue"] in zhang[0] and world.items["soon"] in zhang[0]
    assert "逾期3个工作日" in zhang[0]
    assert first.planned and first.sent >= 2 and first.failed == 0
    assert second.sent == 0 and second.nothing_new and second.skipped == first.sent
    assert sum(len(world.texts_to(u)) for u in world.users.values()) + len(world.texts_to(world.admin)) == first.sent
    # 赵六 is not bound: named in the admin summary with his item
    summary = world.texts_to(world.admin)
    assert len(summary) == 1 and "赵六" in summary[0] and "未绑定" in summary[0] and world.items["zhao"] in summary[0]


async def test_escalations_are_recorded_with_the_rows_once(world: World) -> None:
    async with world.bot() as bot:
        await world.dispatcher(bot).dispatch(MONDAY)
        await world.dispatcher(bot).dispatch(MONDAY)  # resuming the day records nothing new
    with world.sessions() as s:
        fired = s.query(Escalation).all()
    assert fired, "the overdue item must have escalated"
    assert len({(e.hazard_id, e.level) for e in fired}) == len(fired)
    li = world.texts_to(world.users["李四"])  # 张三's supervisor side: 甲区/应急管理局
    assert any(world.items["overdue"] in t and "督办" in t for t in li), li


async def test_a_blocked_official_is_marked_undeliverable_reported_and_not_retried(world: World) -> None:
    world.server.block_bot(world.chats["张三"])
    async with world.bot() as bot:
        report = await world.dispatcher(bot).dispatch(MONDAY)
        again = await world.dispatcher(bot).dispatch(MONDAY)
    assert report.undeliverable == 1 and again.undeliverable == 0
    attempts = world.server.calls("sendMessage", chat_id=world.users["张三"].id, ok_only=False)
    assert [c.status for c in attempts] == [403]
    rows = [r for r in Outbox(world.sessions).entries(MONDAY) if r.address == str(world.users["张三"].id)]
    assert rows[0].state == OutboxState.UNDELIVERABLE and rows[0].error == "已屏蔽机器人"
    with world.sessions() as s:
        assert [(u.address, u.reason) for u in s.query(Undeliverable)] == [(str(world.users["张三"].id), "已屏蔽机器人")]
    summary = world.texts_to(world.admin)
    assert len(summary) == 1 and "张三" in summary[0] and "已屏蔽机器人" in summary[0]
    # The next working day the planner leaves the blocked chat out and reports it instead.
    plan = world.service().plan(MONDAY.replace(day=3))
    assert all(str(world.users["张三"].id) not in [d.address for d in r.recipient.destinations]
               for r in plan.reminders)
    assert any(u.reason == "已屏蔽机器人" for u in plan.unreachable)


async def test_429_storm_and_server_errors_are_waited_out(world: World) -> None:
    world.server.fail_next("sendMessage", 429, retry_after=1, times=2)
    world.server.fail_next("sendMessage", 502, times=2)
    async with world.bot() as bot:
        report = await world.dispatcher(bot, concurrency=1).dispatch(MONDAY)
    failed = [c.status for c in world.server.calls("sendMessage", ok_only=False) if not c.ok]
    assert sorted(failed) == [429, 429, 502, 502]
    assert report.failed == 0 and report.sent == len(world.server.calls("sendMessage"))
    assert states(world) == {"sent": report.sent}


async def test_faults_that_outlast_the_retries_leave_the_row_for_the_next_run(world: World) -> None:
    world.server.fail_next("sendMessage", 500, times=100)
    async with world.bot() as bot:
        bot.rate_limiter.backoff = 0.01  # type: ignore[union-attr]
        first = await world.dispatcher(bot, concurrency=1).dispatch(MONDAY)
        world.server._faults.clear()
        second = await world.dispatcher(bot).dispatch(MONDAY)
    assert first.sent == 0 and first.failed > 0
    assert second.sent == first.failed and states(world) == {"sent": second.sent}


async def test_a_send_that_times_out_is_unknown_and_never_resent(world: World) -> None:
    world.server.slow_next("sendMessage", 3.0)
    async with world.bot(read_timeout=1) as bot:
        report = await world.dispatcher(bot, concurrency=1).dispatch(MONDAY)
        again = await world.dispatcher(bot).dispatch(MONDAY)
    assert report.unknown == 1 and again.unknown == 0 and again.sent == 0
    assert states(world).get("unknown") == 1


async def test_two_dispatchers_racing_send_every_reminder_once(world: World) -> None:
    async with world.bot() as bot_a, world.bot() as bot_b:
        a, b = await asyncio.gather(world.dispatcher(bot_a).dispatch(MONDAY),
                                    world.dispatcher(bot_b).dispatch(MONDAY))
    chats = [c.params["chat_id"] for c in world.server.calls("sendMessage")]
    assert len(chats) == len(set(chats)) == a.sent + b.sent > 0
