"""The daily reminder job in the real PTB Application against the fake Telegram server.

The clock is moved with time-machine (``datetime.now``/``time.time`` of the whole process, which
APScheduler reads; the event loop's monotonic timers run in real time), so the job queue's own
trigger fires at 09:00 Shanghai time a couple of real seconds after the test starts.
"""
from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from bot_support import BotDriver, running_bot
from fake_telegram import ApiCall, FakeTelegram
from reminder_support import World, build_world

from bot.telegram_bot.reminders import DAILY_JOB
from knowledge.config import Settings
from knowledge.reminders.models import Acknowledgement
from knowledge.reminders.outbox import Outbox

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(tg_server: FakeTelegram, settings: Settings, tmp_path: Path, models_dir: Path) -> World:
    return build_world(tg_server, settings, tmp_path, models_dir)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def sends(world: World) -> list[ApiCall]:
    return world.server.calls("sendMessage")


async def settled(world: World, day: date, timeout: float = 20) -> dict[str, int]:
    """The day's outbox once nothing is pending or being sent."""
    outbox = Outbox(world.sessions)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = outbox.state_counts(day)
        if counts and not counts.get("pending") and not counts.get("claimed"):
            return counts
        await asyncio.sleep(0.2)
    raise AssertionError(f"dispatch of {day} did not finish: {outbox.state_counts(day)}")


async def next_run_after(driver: BotDriver, moment: datetime, timeout: float = 10) -> datetime:
    """Wait until the daily job has fired (its next run moved past ``moment``)."""
    assert driver.app.job_queue is not None
    (job,) = driver.app.job_queue.get_jobs_by_name(DAILY_JOB)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.next_t is not None and job.next_t > moment:
            return job.next_t
        await asyncio.sleep(0.1)
    raise AssertionError(f"the daily job did not fire; next run {job.next_t}")


@pytest.mark.parametrize("day", [date(2026, 3, 2), date(2026, 2, 28)], ids=["monday", "make-up-saturday"])
async def test_the_job_fires_at_reminder_time_on_a_working_day(world: World, day: date) -> None:
    with time_machine.travel(at(day, 8, 59, 58), tick=True):
        async with running_bot(world.server, world.settings, warm_up=False, polling=False) as driver:
            await asyncio.sleep(0.5)
            assert sends(world) == []  # the start-up catch-up does nothing before reminder time
            await world.server.wait_for("sendMessage", timeout=10)
            assert datetime.now(SHANGHAI) >= at(day, 9)
            counts = await settled(world, day)
            assert await next_run_after(driver, at(day, 9)) == at(day + timedelta(days=1), 9)
    assert counts.get("sent", 0) >= 3 and set(counts) == {"sent"}
    zhang = world.texts_to(world.users["张三"])
    assert len(zhang) == 1 and world.items["overdue"] in zhang[0]


@pytest.mark.parametrize("day", [date(2026, 4, 6), date(2026, 3, 7)], ids=["qingming-holiday", "saturday"])
async def test_the_job_sends_nothing_on_a_day_off(world: World, day: date) -> None:
    with time_machine.travel(at(day, 8, 59, 58), tick=True):
        async with running_bot(world.server, world.settings, warm_up=False, polling=False) as driver:
            await next_run_after(driver, at(day, 9))
            await asyncio.sleep(1)
    assert sends(world) == [] and Outbox(world.sessions).entries(day) == []


async def test_a_late_firing_job_still_runs(world: World) -> None:
    """APScheduler's default grace of 1 s would drop a run whose event loop was busy at 09:00."""
    day = date(2026, 3, 2)
    with time_machine.travel(at(day, 8, 59, 59), tick=True):
        async with running_bot(world.server, world.settings, warm_up=False, polling=False):
            time.sleep(3.5)  # the loop is blocked across 09:00 (a long synchronous call, a suspend)
            await world.server.wait_for("sendMessage", timeout=10)
            await settled(world, day)
    assert len(world.texts_to(world.users["张三"])) == 1


async def test_catch_up_after_being_down_at_reminder_time_but_not_after_the_cutoff(world: World) -> None:
    day = date(2026, 3, 2)
    with time_machine.travel(at(day, 20, 30), tick=True):  # started after the cut-off: nothing today
        async with running_bot(world.server, world.settings, warm_up=False, polling=False):
            await asyncio.sleep(2)
    assert sends(world) == []
    with time_machine.travel(at(day, 10, 30), tick=True):  # down at 09:00, up at 10:30
        async with running_bot(world.server, world.settings, warm_up=False, polling=False):
            await world.server.wait_for("sendMessage", timeout=10)
            counts = await settled(world, day)
    assert set(counts) == {"sent"} and len(world.texts_to(world.users["张三"])) == 1
    with time_machine.travel(at(day, 11), tick=True):  # a restart the same day sends nothing again
        async with running_bot(world.server, world.settings, warm_up=False, polling=False):
            await asyncio.sleep(2)
    assert len(world.texts_to(world.users["张三"])) == 1


async def test_two_instances_on_one_database_send_every_reminder_once(world: World) -> None:
    day = date(2026, 3, 2)
    with time_machine.travel(at(day, 8, 59, 58), tick=True):
        async with running_bot(world.server, world.settings, warm_up=False, polling=False), \
                running_bot(world.server, world.settings, warm_up=False, polling=False):
            await world.server.wait_for("sendMessage", timeout=10)
            counts = await settled(world, day)
            await asyncio.sleep(1)
    chats = [c.params["chat_id"] for c in sends(world)]
    assert len(chats) == len(set(chats)) == counts["sent"] >= 3


async def test_buttons_of_a_reminder_act_on_the_item_and_a_stale_one_changes_nothing(world: World) -> None:
    day = date(2026, 3, 2)
    zhang, chat = world.users["张三"], world.chats["张三"]
    number = world.items["overdue"]
    with time_machine.travel(at(day, 10), tick=True):
        async with running_bot(world.server, world.settings, warm_up=False) as driver:
            reminder = await world.server.wait_for("sendMessage", lambda p: p["chat_id"] == zhang.id, timeout=10)
            await settled(world, day)
            buttons = dict(world.server.buttons(reminder))
            progress = buttons[f"{number} 更新进度"]
            assert progress == f"h:prog:{number}:1"
            # 已知悉 records an acknowledgement of each item of the message
            calls = await driver.press(zhang, reminder, buttons["已知悉"])
            answer = next(c for c in calls if c.method == "answerCallbackQuery")
            assert "已记录 2 项" in answer.params["text"]
            # 更新进度 starts the ledger's own step; the progress is recorded on the item
            calls = await driver.press(zhang, reminder, progress)
            mark = world.server.mark()
            world.server.user_message(chat, zhang, "已完成接地改造，待验收")
            await driver.replies(chat, mark)
            view = driver.runtime.ledger.get(world.org.admin, number)
            assert view.version == 2 and "已完成接地改造" in (view.history[-1].note or "")
            # The same button again carries version 1: refused, nothing changes
            calls = await driver.press(zhang, reminder, progress)
            answer = next(c for c in calls if c.method == "answerCallbackQuery")
            assert answer.params.get("show_alert"), answer.params
            assert driver.runtime.ledger.get(world.org.admin, number).version == 2
    with world.sessions() as s:
        assert s.query(Acknowledgement).count() == 2
    assert any(e.action == "acknowledge" for e in view.history)


async def test_remind_shows_what_would_be_sent_today_and_linkgroup_links_the_group(
        tg_server: FakeTelegram, settings: Settings, tmp_path: Path, models_dir: Path) -> None:
    group = tg_server.group_chat("东街道安全生产群")
    world = build_world(tg_server, settings, tmp_path, models_dir, allowed_chats=[group.id])
    tg_server.set_admins(group, [world.admin])
    day = date(2026, 3, 2)
    zhang = world.users["张三"]
    with time_machine.travel(at(day, 8), tick=True):
        async with running_bot(world.server, world.settings, warm_up=False) as driver:
            (shown,) = await driver.send(world.chats["张三"], zhang, "/remind")
            assert world.items["overdue"] in shown.result["text"] and "逾期" in shown.result["text"]
            (refused,) = await driver.send(group, zhang, "/linkgroup 东街道")
            assert "管理员" in refused.result["text"]
            (linked,) = await driver.send(group, world.admin, "/linkgroup 东街道")
            assert "东街道" in linked.result["text"] and "已将本群关联" in linked.result["text"]
    assert Outbox(world.sessions).entries(day) == []  # 08:00: nothing sent yet
    mark = world.server.mark()
    with time_machine.travel(at(day, 9, 30), tick=True):
        async with running_bot(world.server, world.settings, warm_up=False, polling=False):
            digest = await world.server.wait_for("sendMessage", lambda p: p["chat_id"] == group.id, timeout=10,
                                                 since=mark)
            await settled(world, day)
    assert "隐患整改通报" in digest.result["text"] and world.items["overdue"] in digest.result["text"]
    assert len([c for c in world.server.sent[mark:] if c.params.get("chat_id") == group.id]) == 1
