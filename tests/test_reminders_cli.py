"""`safetybot reminders plan|send|log` as real subprocesses against the fake Telegram server:
the JSON shapes, a second send that sends nothing, and a send killed with SIGKILL mid-dispatch."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeTelegram
from reminder_support import MONDAY, World, build_world

from knowledge.config import Settings
from knowledge.ledger import HazardInput
from knowledge.reminders.outbox import Outbox

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


@pytest.fixture
def world(tg_server: FakeTelegram, settings: Settings, tmp_path: Path, models_dir: Path) -> World:
    return build_world(tg_server, settings, tmp_path, models_dir)


def environment(world: World) -> dict[str, str]:
    s = world.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYBOT_")}
    env.update({
        "PYTHONPATH": str(REPO), "SAFETYBOT_DATA_DIR": str(s.data_dir), "SAFETYBOT_LOAD_BUNDLED": "false",
        "SAFETYBOT_MODEL_DIR": str(s.models_dir), "SAFETYBOT_TELEGRAM_TOKEN": s.telegram_token or "",
        "SAFETYBOT_TELEGRAM_API_URL": s.telegram_api_url, "SAFETYBOT_TELEGRAM_FILE_URL": s.telegram_file_url,
        "SAFETYBOT_ADMIN_IDS": ",".join(map(str, s.admin_ids)),
    })
    if s.database_url:
        env["SAFETYBOT_DATABASE_URL"] = s.database_url
    return env


async def start(world: World, *args: str) -> asyncio.subprocess.Process:
    world.settings.data_dir.mkdir(parents=True, exist_ok=True)
    return await asyncio.create_subprocess_exec(
        *CLI, "reminders", *args, env=environment(world), cwd=str(world.settings.data_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def cli(world: World, *args: str) -> tuple[int, str, str]:
    proc = await start(world, *args)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def cli_json(world: World, *args: str) -> Any:
    code, out, err = await cli(world, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


async def test_plan_send_log_json_shapes_and_a_second_send_sends_nothing(world: World) -> None:
    plan = await cli_json(world, "plan", "--date", MONDAY.isoformat())
    assert set(plan) == {"date", "working_day", "deliveries", "undeliverable"}
    assert plan["date"] == "2026-03-02" and plan["working_day"] is True
    for delivery in plan["deliveries"]:
        assert set(delivery) == {"recipient", "kind", "items"}
        assert set(delivery["recipient"]) == {"kind", "name", "chat_id"}
        assert delivery["recipient"]["kind"] in {"official", "group", "admin"}
        assert delivery["kind"] in {"daily", "digest", "escalation", "admin_summary"}
    zhang = next(d for d in plan["deliveries"] if d["recipient"]["name"] == "张三")
    assert zhang == {"recipient": {"kind": "official", "name": "张三", "chat_id": world.users["张三"].id},
                     "kind": "daily", "items": [world.items["overdue"], world.items["soon"]]}
    zhao = next(d for d in plan["deliveries"] if d["recipient"]["name"] == "赵六")
    assert zhao["recipient"]["chat_id"] is None
    assert {"name": "赵六（西街道）", "reason": "未绑定"} in plan["undeliverable"]
    assert world.server.calls("sendMessage") == []  # plan sends nothing

    sent = await cli_json(world, "send", "--date", MONDAY.isoformat())
    assert set(sent) == {"date", "working_day", "sent", "skipped", "failed", "undeliverable", "unknown"}
    reachable = [d for d in plan["deliveries"] if d["recipient"]["chat_id"] is not None]
    assert sent["sent"] == len(reachable) == len(world.server.calls("sendMessage"))
    assert (sent["skipped"], sent["failed"], sent["unknown"]) == (0, 0, 0)

    code, out, _ = await cli(world, "send", "--date", MONDAY.isoformat())
    assert code == 0 and "没有新的提醒需要发送" in out and f"此前已发送 {sent['sent']} 条" in out
    assert len(world.server.calls("sendMessage")) == sent["sent"]

    log = await cli_json(world, "log", "--date", MONDAY.isoformat())
    assert set(log) == {"date", "counts", "deliveries"} and log["counts"] == {"sent": sent["sent"]}
    entry = next(d for d in log["deliveries"] if d["recipient"]["name"] == "张三")
    assert entry["state"] == "sent" and entry["items"] == zhang["items"] and entry["attempts"] == 1
    assert entry["at"].startswith("20") and entry["message_ids"] and entry["kind"] == "daily"


async def test_a_holiday_plans_and_sends_nothing(world: World) -> None:
    plan = await cli_json(world, "plan", "--date", "2026-10-01")
    assert plan == {"date": "2026-10-01", "working_day": False, "deliveries": [], "undeliverable": []}
    code, out, _ = await cli(world, "send", "--date", "2026-10-01")
    assert code == 0 and "不是工作日" in out and world.server.calls("sendMessage") == []


def add_crowd(world: World, count: int) -> list[int]:
    """``count`` more bound officials in 东街道, each with an overdue item of their own."""
    svc, admin = world.org.svc, world.org.admin
    ids = []
    for n in range(count):
        name = f"安全员{n:03d}"
        svc.add_official(admin, name, "东街道", "official")
        user = world.server.user(name)
        world.server.private_chat(user)
        svc.redeem_bind_code(svc.issue_bind_code(admin, name), user.id)
        svc.create_hazard(admin, HazardInput(description=f"第{n}号车间消防设施缺失", unit="东街道",
                                             deadline="2个工作日", responsible_official=name,
                                             supervising_unit="甲区/应急管理局"))
        ids.append(user.id)
    return ids


async def test_a_send_killed_mid_dispatch_and_run_again_sends_the_rest_and_nothing_twice(world: World) -> None:
    crowd = add_crowd(world, 90)
    proc = await start(world, "send", "--date", MONDAY.isoformat())
    while len(world.server.calls("sendMessage")) < 25:
        assert proc.returncode is None, (await proc.communicate())[1].decode()
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    before = len(world.server.calls("sendMessage"))
    total = len(crowd) + 5  # the crowd, 张三, 李四, 钱七, the admin summary... and 李四's escalations
    assert before < total, "the kill came too late to interrupt the dispatch"

    again = await cli_json(world, "send", "--date", MONDAY.isoformat())
    chats = [c.params["chat_id"] for c in world.server.calls("sendMessage")]
    assert len(chats) == len(set(chats)), "a reminder was sent twice"
    rows = Outbox(world.sessions).entries(MONDAY)
    unknown = [r for r in rows if r.state == "unknown"]
    assert {r.state for r in rows} <= {"sent", "unknown"}
    assert again["sent"] == len(chats) - before and again["unknown"] == len(unknown) <= 8
    delivered = set(chats)
    # Every row is delivered, except possibly the few in flight at the kill, which are "unknown".
    assert all(int(r.address) in delivered for r in rows if r.state == "sent")
    assert set(crowd) - delivered <= {int(r.address) for r in unknown}
