"""Ledger scale benchmark (manual; not part of the tests).

Builds 5,000 units (1 city → 20 districts → 240 towns/streets → enterprises) and 1,000,000 hazard
items in a PostgreSQL schema of its own (bulk COPY via psycopg), then times through the service:

- the due/overdue list of one official, one town (incl. sub-units) and one district;
- the monthly statistics of the city (ranking of its districts);
- importing a 10,000-row spreadsheet.

Targets: each query < 1 s, the import < 30 s.

    /work/.venv/bin/python bench/bench_ledger.py --url postgresql://postgres@127.0.0.1:5432/test

The schema (default ``bench_ledger``) is dropped at the end unless ``--keep`` is given.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import text

from knowledge.config import Settings
from knowledge.db import make_engine, migrate, session_factory
from knowledge.ledger import Actor, FixedClock, HazardFilter, LedgerService
from knowledge.ledger.models import Status

TODAY = date(2026, 11, 20)
DISTRICTS, TOWNS_PER_DISTRICT = 20, 12


def timed(label: str, fn: Callable[[], object], repeat: int = 3) -> float:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    size = len(result) if isinstance(result, list) else getattr(result, "total", None)
    size = getattr(size, "total", size)
    print(f"{label:<48} first {times[0] * 1000:8.1f} ms   median {statistics.median(times) * 1000:8.1f} ms"
          f"   ({size} rows)" if size is not None else "")
    return statistics.median(times)


def build_units(raw, n_units: int) -> dict[str, list[int]]:
    rows, levels = [], {"city": [1], "district": [], "town": [], "enterprise": []}
    rows.append((1, "示例市", "SHI", "市", None, "/1/", 0))
    next_id = 2
    for d in range(DISTRICTS):
        did = next_id
        next_id += 1
        rows.append((did, f"第{d + 1:02d}区", f"D{d + 1:02d}", "县区", 1, f"/1/{did}/", 1))
        levels["district"].append(did)
        for t in range(TOWNS_PER_DISTRICT):
            tid = next_id
            next_id += 1
            rows.append((tid, f"第{d + 1:02d}区第{t + 1:02d}街道", None, "乡镇街道", did, f"/1/{did}/{tid}/", 2))
            levels["town"].append(tid)
    paths = {r[0]: r[5] for r in rows}
    while next_id <= n_units:
        town = levels["town"][next_id % len(levels["town"])]
        rows.append((next_id, f"企业{next_id:05d}", None, "企业", town, f"{paths[town]}{next_id}/", 3))
        levels["enterprise"].append(next_id)
        next_id += 1
    now = datetime.now(UTC)
    with raw.cursor() as cur:
        with cur.copy("COPY ledger_units (id, name, code, kind, parent_id, path, depth, created_at) FROM STDIN") as cp:
            for r in rows:
                cp.write_row((*r[:7], now))
        with cur.copy("COPY ledger_officials (id, name, unit_id, role, active, created_at) FROM STDIN") as cp:
            for uid, *_ in rows:
                cp.write_row((uid, f"人员{uid:05d}", uid, "official", True, now))
        cur.execute("SELECT setval(pg_get_serial_sequence('ledger_units', 'id'), %s)", (n_units,))
        cur.execute("SELECT setval(pg_get_serial_sequence('ledger_officials', 'id'), %s)", (n_units,))
    raw.commit()
    return levels


def build_items(raw, levels: dict[str, list[int]], n_items: int) -> None:
    rng = random.Random(42)
    targets = levels["enterprise"] + levels["town"]
    start = date(2025, 1, 1)
    span = (TODAY - start).days
    now = datetime.now(UTC)
    cols = ("id, number, description, norm_description, unit_id, level, source, found_on, responsible_unit_id, "
            "responsible_official_id, deadline, supervising_unit_id, listed_supervision, major_suspected, status, "
            "closed_at, closed_on, created_at, created_by, updated_at, version")
    t0 = time.perf_counter()
    with raw.cursor() as cur:
        with cur.copy(f"COPY ledger_hazards ({cols}) FROM STDIN") as cp:
            for i in range(1, n_items + 1):
                unit = rng.choice(targets)
                found = start + timedelta(days=rng.randrange(span))
                deadline = found + timedelta(days=rng.randrange(5, 60))
                closed = found + timedelta(days=rng.randrange(1, 80))
                is_closed = closed <= TODAY and rng.random() < 0.8
                status = Status.CLOSED if is_closed else rng.choice(Status.OPEN)
                desc = f"第{i}号隐患：{rng.choice(('安全出口堵塞', '配电箱无防护', '灭火器过期', '燃气软管老化'))}"
                district = levels["district"][unit % DISTRICTS]
                cp.write_row((
                    i, f"BM-{found.year}-{i:07d}", desc, desc, unit, "一般", "检查", found, unit, unit, deadline,
                    district, i % 50 == 0, False, status, now if is_closed else None,
                    closed if is_closed else None, now, "bench", now, 1,
                ))
        cur.execute("SELECT setval(pg_get_serial_sequence('ledger_hazards', 'id'), %s)", (n_items,))
    raw.commit()
    print(f"COPY of {n_items:,} items: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    with raw.cursor() as cur:
        cur.execute("ANALYZE ledger_units")
        cur.execute("ANALYZE ledger_officials")
        cur.execute("ANALYZE ledger_hazards")
    raw.commit()
    print(f"ANALYZE: {time.perf_counter() - t0:.1f} s")


def write_sheet(path: Path, levels: dict[str, list[int]], rows: int) -> Path:
    rng = random.Random(7)
    wb = Workbook()
    ws = wb.active
    ws.append(["序号", "隐患描述", "所在单位", "隐患等级", "整改时限", "发现日期", "整改状态"])
    for i in range(1, rows + 1):
        unit = rng.choice(levels["enterprise"])
        ws.append([i, f"导入测试隐患{i}：消防通道被占用", f"企业{unit:05d}", "一般", "30天",
                   TODAY - timedelta(days=rng.randrange(0, 20)), "待整改"])
    wb.save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--schema", default="bench_ledger")
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--units", type=int, default=5_000)
    ap.add_argument("--import-rows", type=int, default=10_000)
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    args = ap.parse_args()

    admin_engine = make_engine(args.url)
    with admin_engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{args.schema}"'))
    engine = make_engine(args.url, schema=args.schema)
    try:
        migrate(engine)
        raw = engine.raw_connection()
        try:
            t0 = time.perf_counter()
            levels = build_units(raw.driver_connection, args.units)
            print(f"{args.units:,} units and officials: {time.perf_counter() - t0:.1f} s")
            build_items(raw.driver_connection, levels, args.items)
        finally:
            raw.close()

        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp), database_url=args.url, load_bundled=False, _env_file=None)
            clock = FixedClock(at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
            svc = LedgerService(session_factory(engine), settings, clock=clock)
            admin = Actor.local_admin("bench")
            official, town, district = levels["enterprise"][100], levels["town"][5], levels["district"][3]
            print()
            timed("due in 7 days or overdue, one official", lambda: svc.list_hazards(
                admin, HazardFilter(official_id=official, due_within=7, limit=200)))
            timed("overdue, one official", lambda: svc.list_hazards(admin, HazardFilter(official_id=official, overdue=True)))
            timed("due in 7 days or overdue, one town (+sub-units)", lambda: svc.list_hazards(
                admin, HazardFilter(unit_id=town, due_within=7, limit=200)))
            timed("due in 7 days or overdue, one district", lambda: svc.list_hazards(
                admin, HazardFilter(unit_id=district, due_within=7, limit=200)))
            timed("count overdue, one district", lambda: [svc.count_hazards(
                admin, HazardFilter(unit_id=district, overdue=True))])
            timed("monthly statistics, city (2026-10)", lambda: svc.stats(
                admin, "#1", date(2026, 10, 1), date(2026, 10, 31)))
            timed("monthly statistics, one district (2026-10)", lambda: svc.stats(
                admin, f"#{district}", date(2026, 10, 1), date(2026, 10, 31)))
            sheet = write_sheet(Path(tmp) / "import.xlsx", levels, args.import_rows)
            start = time.perf_counter()
            report = svc.import_hazards(admin, sheet)
            took = time.perf_counter() - start
            assert report.ok, report.problems[:5]
            print(f"{'import of a ' + format(args.import_rows, ',') + '-row spreadsheet':<48} {took:8.1f} s"
                  f"   ({len(report.created)} created)")
    finally:
        engine.dispose()
        if not args.keep:
            with admin_engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{args.schema}" CASCADE'))
        admin_engine.dispose()


if __name__ == "__main__":
    main()
