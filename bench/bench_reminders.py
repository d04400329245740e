"""Reminder planning benchmark (manual; not part of the tests).

Loads the ledger benchmark's organisation (5,000 units, one official each) and 1,000,000 items
into a PostgreSQL schema of its own with ``bench_ledger``'s COPY loader, then makes it look like a
deployment: district officials are supervisors, the city's official an admin, every official
reports to their district's supervisor, 90% have a bound chat account, every district and town has
a linked group, 2,000 extension requests wait for a decision and 待复查 items have waited since the
day they were found. No escalation has fired yet, so the planned day (a Monday, with the 挂牌督办
nudge) is the worst case: every overdue item escalates at both levels.

Planning runs in a fresh process so its peak RSS is its own. Targets: under 10 s, under 500 MB.

    PYTHONPATH=. /work/main/.venv/bin/python bench/bench_reminders.py --url postgresql://postgres@127.0.0.1:5432/test

The schema (default ``bench_reminders``) is dropped at the end unless ``--keep`` is given;
``--reuse`` plans on a kept schema without loading again.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ledger import build_items, build_units  # noqa: E402

from knowledge.config import Settings  # noqa: E402
from knowledge.db import make_engine, migrate, session_factory  # noqa: E402

PLAN_DAY = date(2026, 11, 23)  # Monday after bench_ledger's TODAY


def make_realistic(raw) -> None:  # type: ignore[no-untyped-def]
    with raw.cursor() as cur:
        cur.execute("UPDATE ledger_officials SET role = 'supervisor' WHERE unit_id IN "
                    "(SELECT id FROM ledger_units WHERE depth = 1)")
        cur.execute("UPDATE ledger_officials SET role = 'admin' WHERE unit_id = 1")
        cur.execute("""
            UPDATE ledger_officials o SET supervisor_id = d.id
            FROM ledger_units u, ledger_officials d, ledger_units du
            WHERE u.id = o.unit_id AND u.depth >= 2 AND du.depth = 1 AND d.unit_id = du.id
              AND u.path LIKE du.path || '%'""")
        cur.execute("UPDATE ledger_officials SET chat_user_id = 1000000 + id WHERE id % 10 <> 0")
        cur.execute("""
            INSERT INTO reminder_chat_links (unit_id, kind, address, linked_by, linked_at)
            SELECT id, 'telegram', (-1000000 - id)::text, 'bench', now() FROM ledger_units WHERE depth IN (1, 2)""")
        cur.execute("""
            INSERT INTO ledger_extensions (hazard_id, requested_at, requested_by, reason, old_deadline,
                                           new_deadline, status)
            SELECT id, now(), 'bench', '设备到货延迟', deadline, deadline + 30, '待审批'
            FROM ledger_hazards WHERE status IN ('待整改', '整改中') ORDER BY id LIMIT 2000""")
        cur.execute("UPDATE ledger_hazards SET updated_at = found_on::timestamptz WHERE status = '待复查'")
        cur.execute("ANALYZE")
    raw.commit()


def plan_once(url: str, schema: str) -> None:
    """Child process: plan the day once and print figures as JSON."""
    from knowledge.reminders.planner import plan_day

    engine = make_engine(url, schema=schema)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=url, load_bundled=False, _env_file=None)
        start, cpu_start = time.perf_counter(), time.process_time()
        plan = plan_day(session_factory(engine), settings, PLAN_DAY)
        took, cpu_end = time.perf_counter() - start, time.process_time()
    kinds = Counter(r.kind.value for r in plan.reminders)
    entries = Counter(r.kind.value for r in plan.reminders for _ in r.items)
    print(json.dumps({
        "seconds": round(took, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_seconds": round(cpu_end - cpu_start, 2),
        "reminders": dict(kinds), "item_entries": dict(entries),
        "distinct_items": len({i.number for r in plan.reminders for i in r.items}),
        "unreachable": len(plan.unreachable),
    }, ensure_ascii=False))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--schema", default="bench_reminders")
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--units", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    ap.add_argument("--reuse", action="store_true", help="plan on a kept schema, do not load")
    ap.add_argument("--steady", action="store_true",
                    help="also plan a steady-state day: levels already fired yesterday for every overdue item")
    ap.add_argument("--plan-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plan_only:
        plan_once(args.url, args.schema)
        return

    admin_engine = make_engine(args.url)
    try:
        if not args.reuse:
            with admin_engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{args.schema}"'))
            engine = make_engine(args.url, schema=args.schema)
            migrate(engine)
            raw = engine.raw_connection()
            try:
                t0 = time.perf_counter()
                levels = build_units(raw.driver_connection, args.units)
                build_items(raw.driver_connection, levels, args.items)
                make_realistic(raw.driver_connection)
                print(f"loaded {args.units:,} units, {args.items:,} items in {time.perf_counter() - t0:.1f} s")
            finally:
                raw.close()
                engine.dispose()
        scenarios = [("first day (no level fired yet)", False)] + ([("steady state", True)] if args.steady else [])
        for label, steady in scenarios:
            engine = make_engine(args.url, schema=args.schema)
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM reminder_escalations"))
                if steady:
                    conn.execute(text(
                        "INSERT INTO reminder_escalations (hazard_id, level, fired_on, at) "
                        "SELECT id, lvl, CAST(:day AS date) - 1, now() FROM ledger_hazards, (VALUES (1), (2)) v(lvl) "
                        "WHERE status <> '已销号' AND deadline < :day"), {"day": PLAN_DAY})
            engine.dispose()
            for run in range(1, args.runs + 1):
                out = subprocess.run([sys.executable, __file__, "--plan-only", "--url", args.url,
                                      "--schema", args.schema], capture_output=True, text=True, check=True)
                f = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"plan {PLAN_DAY}, {label}, run {run}: {f['seconds']:.2f} s wall, {f['cpu_seconds']:.2f} s CPU "
                      f"of the planning process, peak RSS {f['peak_rss_mb']} MB (targets < 10 s, < 500 MB); "
                      f"reminders {f['reminders']}; item entries {f['item_entries']}; "
                      f"distinct items {f['distinct_items']:,}; unreachable entries {f['unreachable']}")
    finally:
        if not args.keep:
            with admin_engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
        admin_engine.dispose()


if __name__ == "__main__":
    main()
