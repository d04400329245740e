"""Reminder delivery benchmarks on the fake Telegram server (tests/fake_telegram).

    python bench/bench_reminder_delivery.py dispatch [--n 10000] [--url postgresql://...]
    python bench/bench_reminder_delivery.py kill [--cycles 20] [--n 600] [--url postgresql://...]

dispatch: one day's reminders to N bound officials through the real dispatcher, outbox and Telegram
channel (PTB bot with the retrying rate limiter: 30 messages/s overall). Prints the total time
against the rate-limit floor N/30 s (Telegram's limit, not ours) and the ratio.

kill: a real ``safetybot reminders send`` subprocess is started and SIGKILLed after a random
number of sends, ``--cycles`` times, then run once more to completion. Prints how many reminders
were delivered once, duplicated, lost, and left ``unknown`` (in flight at a kill: never resent).
The day is planned by the real planner over a ledger of N bound officials with an overdue item each.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fake_telegram import FakeTelegram  # noqa: E402

from bot.channels.dispatch import Dispatcher  # noqa: E402
from bot.channels.setup import channel_registry, standalone_bot  # noqa: E402
from knowledge.config import Settings  # noqa: E402
from knowledge.db import make_engine, migrate, session_factory  # noqa: E402
from knowledge.reminders.messages import (  # noqa: E402
    Destination,
    Recipient,
    RecipientKind,
    Reminder,
    ReminderItem,
    ReminderKind,
    Unreachable,
    Urgency,
)
from knowledge.reminders.outbox import Outbox  # noqa: E402

DAY = date(2026, 3, 2)
RATE = 30.0


@dataclass
class FixedPlan:
    day: date
    working_day: bool = True
    reminders: list[Reminder] = field(default_factory=list)
    unreachable: list[Unreachable] = field(default_factory=list)


def fresh_url(url: str | None, tmp: Path) -> str:
    if not url:
        return f"sqlite:///{tmp / 'bench.sqlite3'}"
    schema = f"bench_{os.getpid()}"
    admin = make_engine(url)
    with admin.begin() as conn:
        from sqlalchemy import text
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


async def bench_dispatch(n: int, url: str | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    async with FakeTelegram() as server:
        settings = Settings(data_dir=tmp, database_url=fresh_url(url, tmp), load_bundled=False,
                            telegram_token=server.token, telegram_api_url=server.base_url,
                            telegram_file_url=server.base_file_url, _env_file=None)
        engine = make_engine(settings.db_url)
        migrate(engine)
        sessions = session_factory(engine)
        reminders = []
        for i in range(n):
            user = server.user(f"安全员{i:05d}")
            server.private_chat(user)
            items = tuple(ReminderItem(f"YH-2026-{i * 3 + k:05d}", "配电箱未接地，电缆老化破损，消防通道堆放杂物",
                                       date(2026, 2, 26), Urgency.OVERDUE, 3, "东街道", user.first_name,
                                       actions=("progress", "request_extension", "request_review"))
                          for k in range(3))
            reminders.append(Reminder(DAY, ReminderKind.DAILY,
                                      Recipient(RecipientKind.OFFICIAL, user.first_name, official_id=i + 1,
                                                destinations=(Destination("telegram", str(user.id)),)), items))
        plan = FixedPlan(DAY, reminders=reminders)
        async with standalone_bot(settings) as bot:
            dispatcher = Dispatcher(sessions, channel_registry(settings, bot), lambda day: plan)
            start, start_mono = time.perf_counter(), time.monotonic()
            report = await dispatcher.dispatch(DAY)
            elapsed = time.perf_counter() - start
        calls = server.calls("sendMessage")
        delivered = Counter(c.params["chat_id"] for c in calls)
        floor = n / RATE
        print(f"first send after {calls[0].at - start_mono:.2f} s; last send after {calls[-1].at - start_mono:.2f} s")
        print(f"database: {engine.dialect.name}")
        print(f"recipients: {n}, sent: {report.sent}, failed: {report.failed}, unknown: {report.unknown}")
        print(f"delivered chats: {len(delivered)}, duplicates: {sum(v - 1 for v in delivered.values())}")
        print(f"total time: {elapsed:.1f} s, rate-limit floor N/30: {floor:.1f} s, ratio: {elapsed / floor:.3f}")
        print(f"throughput: {report.sent / elapsed:.2f} messages/s")
        engine.dispose()


def build_ledger(settings: Settings, server: FakeTelegram, n: int) -> list[int]:
    from ledger_support import build_org

    from knowledge.ledger import HazardInput

    engine = make_engine(settings.db_url)
    migrate(engine)
    org = build_org(session_factory(engine), settings, today=date(2026, 2, 24))
    svc, admin = org.svc, org.admin
    chats = []
    for i in range(n):
        name = f"安全员{i:04d}"
        svc.add_official(admin, name, "东街道", "official")
        user = server.user(name)
        server.private_chat(user)
        svc.redeem_bind_code(svc.issue_bind_code(admin, name), user.id)
        svc.create_hazard(admin, HazardInput(description=f"第{i}号车间消防设施缺失", unit="东街道",
                                             deadline="2个工作日", responsible_official=name,
                                             supervising_unit="甲区/应急管理局"))
        chats.append(user.id)
    engine.dispose()
    return chats


async def bench_kill(cycles: int, n: int, url: str | None, seed: int) -> None:
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-reminders-kill-"))
    async with FakeTelegram() as server:
        admin = server.user("王主任")
        server.private_chat(admin)
        settings = Settings(data_dir=tmp, database_url=fresh_url(url, tmp), load_bundled=False,
                            telegram_token=server.token, telegram_api_url=server.base_url,
                            telegram_file_url=server.base_file_url, admin_ids=[admin.id], _env_file=None)
        t0 = time.perf_counter()
        build_ledger(settings, server, n)
        print(f"ledger with {n} bound officials built in {time.perf_counter() - t0:.0f} s")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFETYBOT_")}
        env.update({"PYTHONPATH": str(ROOT), "SAFETYBOT_DATA_DIR": str(tmp), "SAFETYBOT_LOAD_BUNDLED": "false",
                    "SAFETYBOT_DATABASE_URL": settings.db_url, "SAFETYBOT_TELEGRAM_TOKEN": server.token,
                    "SAFETYBOT_TELEGRAM_API_URL": server.base_url, "SAFETYBOT_ADMIN_IDS": str(admin.id)})
        cmd = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
               "reminders", "send", "--date", DAY.isoformat()]
        kills = 0
        for cycle in range(cycles):
            before = len(server.calls("sendMessage"))
            proc = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=str(tmp),
                                                        stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.DEVNULL)
            target = before + rng.randint(3, 2 * max(3, n // (cycles + 1)))
            while len(server.calls("sendMessage")) < target and proc.returncode is None:
                await asyncio.sleep(rng.uniform(0.0, 0.02))
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            await proc.wait()
        final = await asyncio.create_subprocess_exec(*cmd, env=env, cwd=str(tmp), stdout=asyncio.subprocess.PIPE,
                                                     stderr=asyncio.subprocess.DEVNULL)
        out, _ = await final.communicate()
        engine = make_engine(settings.db_url)
        rows = Outbox(session_factory(engine)).entries(DAY)
        engine.dispose()
        delivered = Counter(c.params["chat_id"] for c in server.calls("sendMessage"))
        planned = {int(r.address): r.state for r in rows}
        unknown = [a for a, s in planned.items() if s == "unknown"]
        print(f"kill-and-restart cycles: {kills} SIGKILLs during dispatch, then one run to completion")
        print(f"final run: {out.decode().strip()}")
        print(f"deliveries planned: {len(planned)}; states: {dict(Counter(planned.values()))}")
        print(f"delivered exactly once: {sum(1 for a in planned if delivered[a] == 1)}")
        print(f"duplicated: {sum(1 for a in planned if delivered[a] > 1)}")
        print(f"lost (not delivered, not flagged unknown): "
              f"{sum(1 for a, s in planned.items() if delivered[a] == 0 and s != 'unknown')}")
        print(f"unknown (in flight at a kill, not resent): {len(unknown)}, of which actually delivered: "
              f"{sum(1 for a in unknown if delivered[a])}, not delivered: {sum(1 for a in unknown if not delivered[a])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    d = sub.add_parser("dispatch")
    d.add_argument("--n", type=int, default=10_000)
    d.add_argument("--url")
    k = sub.add_parser("kill")
    k.add_argument("--cycles", type=int, default=20)
    k.add_argument("--n", type=int, default=600)
    k.add_argument("--url")
    k.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.what == "dispatch":
        asyncio.run(bench_dispatch(args.n, args.url))
    else:
        asyncio.run(bench_kill(args.cycles, args.n, args.url, args.seed))


if __name__ == "__main__":
    main()
