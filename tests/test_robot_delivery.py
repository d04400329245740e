"""End to end: the day's reminders through the outbox and dispatcher to fake 企业微信, 钉钉 and
飞书 servers — once per day on each, mentions, rejected signatures, a killed dispatch."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from click.testing import CliRunner
from robot_support import LATER, ZHANG_PHONE, ZHAO_PHONE, dispatcher, robot_world
from sqlalchemy import select

from bot.cli.app import main
from knowledge.models import AuditLog
from knowledge.reminders.outbox import Outbox, OutboxState
from knowledge.reminders.service import ReminderService

ROOT = Path(__file__).resolve().parents[1]
NEXT_DAY = LATER.replace(day=LATER.day + 1)
CONCURRENCY = 8


async def test_each_platform_gets_the_digest_once_per_day(sessions, settings, wecom_server, dingtalk_server,
                                                          feishu_server) -> None:
    world = robot_world(sessions, settings)
    robots = [world.add(wecom_server, "wecom"), world.add(dingtalk_server, "dingtalk", secret="SEC-ding-secret-1"),
              world.add(feishu_server, "feishu", secret="feishu-secret-1")]
    async with httpx.AsyncClient() as client:
        first = await dispatcher(world, client)[0].dispatch(LATER)
        again = await dispatcher(world, client)[0].dispatch(LATER)
    assert (first.sent, first.failed, first.undeliverable) == (3, 0, 0)
    assert (again.sent, again.skipped) == (0, 3)
    for _, robot in robots:
        assert len(robot.received) == 1 and robot.rejected == []
        text = robot.received[0].text
        assert "隐患整改日报｜甲区" in text and "逾期 2 项" in text
        assert "YH-2026-0001" in text and "东街道·张三" in text and "逾期" in text
    assert "### 隐患整改日报" in robots[0][1].received[0].payload["markdown"]["content"]
    assert robots[2][1].received[0].payload["msg_type"] == "post"
    rows = Outbox(sessions).entries(LATER)
    assert sorted((r.channel, r.state) for r in rows) == [
        ("dingtalk", OutboxState.SENT), ("feishu", OutboxState.SENT), ("wecom", OutboxState.SENT)]


async def test_public_reminders_mention_the_official_by_phone(sessions, settings, wecom_server, dingtalk_server,
                                                              feishu_server) -> None:
    world = robot_world(sessions, settings.model_copy(update={"reminder_mention": True}))
    _, wecom = world.add(wecom_server, "wecom", unit="东街道")
    _, ding = world.add(dingtalk_server, "dingtalk", unit="东街道")
    _, feishu = world.add(feishu_server, "feishu", unit="东街道")
    async with httpx.AsyncClient() as client:
        report = await dispatcher(world, client)[0].dispatch(LATER)
    assert report.sent == 6  # the digest and the officials' reminders, on each robot
    daily = [a for a in wecom.received if a.payload["msgtype"] == "text"]
    assert len(daily) == 1 and daily[0].mentions == (ZHANG_PHONE,) and "张三" in daily[0].text
    assert "隐患待办提醒｜东街道" in daily[0].text
    ding_daily = [a for a in ding.received if "待办提醒" in a.text]
    assert ding_daily[0].mentions == (ZHANG_PHONE,)  # in atMobiles and written as @phone in the text
    assert any("请 张三 办理" in a.text for a in feishu.received)
    assert ZHAO_PHONE not in json.dumps([a.payload for a in wecom.received + ding.received])


async def test_private_deployments_show_only_counts_in_groups(sessions, settings, wecom_server,
                                                              dingtalk_server) -> None:
    world = robot_world(sessions, settings)  # SAFETYBOT_REMINDER_MENTION unset
    _, wecom = world.add(wecom_server, "wecom", unit="东街道")
    _, ding = world.add(dingtalk_server, "dingtalk", unit="东街道")
    async with httpx.AsyncClient() as client:
        await dispatcher(world, client)[0].dispatch(LATER)
    for robot in (wecom, ding):
        daily = [a for a in robot.received if "待办提醒" in a.text]
        assert len(daily) == 1
        assert "1 位责任人有待办隐患：共 2 项，逾期 2 项。" in daily[0].text
        assert "张三" not in daily[0].text and ZHANG_PHONE not in json.dumps(daily[0].payload)
        assert daily[0].mentions == ()


async def test_a_wrong_secret_is_rejected_marked_and_reported(sessions, settings, dingtalk_server,
                                                              feishu_server) -> None:
    world = robot_world(sessions, settings)
    ding_name, ding = world.add(dingtalk_server, "dingtalk", secret="SEC-right", registered_secret="SEC-wrong")
    feishu_name, feishu = world.add(feishu_server, "feishu", secret="right", registered_secret="wrong")
    async with httpx.AsyncClient() as client:
        report = await dispatcher(world, client)[0].dispatch(LATER)
        assert report.undeliverable == 2 and report.sent == 0
        assert ding.received == [] and ding.rejected[0][0] == 310000
        assert feishu.received == [] and feishu.rejected[0][0] == 19021
        views = {v.name: v for v in world.robots.list(world.org.admin)}
        assert views[ding_name].broken and "310000" in (views[ding_name].broken_reason or "")
        assert views[feishu_name].broken and "19021" in (views[feishu_name].broken_reason or "")
        # The next working day: nothing is sent to them, and the admins' summary names them.
        requests = dingtalk_server.requests + feishu_server.requests
        plan = ReminderService(world.org.at(NEXT_DAY)).plan(NEXT_DAY)
        reported = {u.name: u.reason for u in plan.unreachable}
        assert any(ding_name in name and "群机器人失效" in reason and "310000" in reason
                   for name, reason in reported.items())
        assert any(feishu_name in name for name in reported)
        world.robots.ledger = world.org.at(NEXT_DAY)
        nxt = await dispatcher(world, client)[0].dispatch(NEXT_DAY)
    assert nxt.sent == 0 and dingtalk_server.requests + feishu_server.requests == requests


async def test_secrets_never_appear_in_logs_list_audit_or_errors(sessions, settings, wecom_server, dingtalk_server,
                                                                 feishu_server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    world = robot_world(sessions, settings)
    keys: list[str] = []
    for server, kind, secret, registered in ((wecom_server, "wecom", None, None),
                                             (dingtalk_server, "dingtalk", "SEC-ding-9f8e7d6c5b4a", None),
                                             (feishu_server, "feishu", "feishu-7c6b5a4d3e2f", "feishu-typo-0000")):
        _, robot = world.add(server, kind, secret=secret, registered_secret=registered)
        keys += [robot.key] + [s for s in (secret, registered) if s]
    async with httpx.AsyncClient() as client:
        await dispatcher(world, client)[0].dispatch(LATER)
    assert "HTTP Request: POST" in caplog.text  # httpx did log the requests, with the URLs redacted
    runner = CliRunner()
    env = {"SAFETYBOT_DATA_DIR": str(settings.data_dir), "SAFETYBOT_DATABASE_URL": settings.db_url,
           "SAFETYBOT_LOAD_BUNDLED": "false"}
    listed = runner.invoke(main, ["channels", "list"], env=env)
    as_json = runner.invoke(main, ["channels", "list", "--format", "json"], env=env)
    assert listed.exit_code == 0 and "****" in listed.output and "失效" in listed.output
    with sessions() as s:
        audit = json.dumps([row.detail for row in s.scalars(select(AuditLog))], ensure_ascii=False)
    errors = json.dumps([row.error for row in Outbox(sessions).entries(LATER)], ensure_ascii=False)
    for key in keys:
        for text in (caplog.text, listed.output, as_json.output, audit, errors):
            assert key not in text


async def test_a_killed_dispatch_resumes_without_duplicates(sessions, settings, wecom_server, dingtalk_server,
                                                            feishu_server) -> None:
    world = robot_world(sessions, settings)
    servers = (wecom_server, dingtalk_server, feishu_server)
    robots = [world.add(server, kind, name=f"{kind}-{n}", secret="SEC-s" if kind != "wecom" else None)[1]
              for n in range(12) for server, kind in zip(servers, ("wecom", "dingtalk", "feishu"), strict=True)]
    for server in servers:
        server.hold_after(5)  # the sender dies while its next requests are in the network
    script = textwrap.dedent(f"""
        import asyncio
        from datetime import date
        from knowledge.config import Settings
        from knowledge.db import make_engine, session_factory
        from knowledge.ledger import LedgerService
        from bot.channels.robots import robot_dispatcher
        from robot_support import TEST_LIMITS
        settings = Settings(_env_file=None)
        ledger = LedgerService(session_factory(make_engine(settings.db_url)), settings)
        asyncio.run(robot_dispatcher(ledger, limits=TEST_LIMITS, concurrency={CONCURRENCY})[0].dispatch(date.fromisoformat("{LATER}")))
    """)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", "SAFETYBOT_LOAD_BUNDLED": "false",
           "SAFETYBOT_DATA_DIR": str(settings.data_dir), "SAFETYBOT_DATABASE_URL": settings.db_url}
    child = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 120
        # Killed once all its workers wait on the network (none between an answer and its record).
        while sum(s.held for s in servers) < CONCURRENCY:
            assert child.poll() is None and time.monotonic() < deadline
            await _pause(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    await _pause(0.3)
    for server in servers:
        server.release()
    await _pause(0.3)
    before = sum(len(r.received) for r in robots)
    assert before == 15  # 5 per platform before the kill, nothing recorded from parked requests
    outbox = Outbox(sessions)
    async with httpx.AsyncClient() as client:
        resumed = await dispatcher(world, client)[0].dispatch(LATER)
        # What was confirmed is not resent; what was in flight may have arrived, so it is not
        # resent either but counted as unknown, for an operator to check.
        assert resumed.skipped == before and resumed.unknown == CONCURRENCY
        assert resumed.sent == len(robots) - before - CONCURRENCY
        assert max(len(r.received) for r in robots) == 1
        # The operator checked (the platforms never processed them): `reminders send --resend-unknown`.
        assert outbox.resend_unknown(LATER) == CONCURRENCY
        again = await dispatcher(world, client)[0].dispatch(LATER)
    assert again.sent == CONCURRENCY
    assert [len(r.received) for r in robots] == [1] * len(robots)
    assert all(row.state == OutboxState.SENT for row in outbox.entries(LATER))


async def _pause(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
