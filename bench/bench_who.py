"""Warm latency of a who-answer from the duty rules (target: p95 ≤ 50 ms on 2 cores).

    python bench/bench_who.py [--rounds 5] [--database-url URL]

Builds a throw-away SQLite database (or uses URL) with the bundled laws and rules, warms the
answerer once, then answers every question of tests/data/duties/who_questions.yaml ``rounds`` times.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.db import make_engine, migrate, session_factory, transaction
from knowledge.documents import replace_document
from knowledge.duties.answer import DutyAnswerer
from knowledge.duties.router import is_who_question
from knowledge.duties.service import ensure_bundled_rules
from knowledge.parse import parse_bundled

QUESTIONS = ROOT / "tests" / "data" / "duties" / "who_questions.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="an existing database with laws and rules loaded")
    parser.add_argument("--jurisdiction", default=None)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    if not args.database_url:
        started = time.perf_counter()
        with transaction(sessions) as session:
            for doc in parse_bundled():
                replace_document(session, doc, "bench", bundled=True)
        result = ensure_bundled_rules(sessions)
        if result.errors:
            print("bundled rules not loaded:", result.errors[:3])
            return 1
        print(f"setup: laws + {len(result.added)} rules in {time.perf_counter() - started:.1f} s")

    questions = [case["q"] for case in yaml.safe_load(QUESTIONS.read_text("utf-8"))]
    answerer = DutyAnswerer(sessions, args.jurisdiction)
    cold = time.perf_counter()
    answerer.answer(questions[0])
    print(f"first (cold) answer: {(time.perf_counter() - cold) * 1000:.1f} ms")

    timings = []
    for _ in range(args.rounds):
        for q in questions:
            t = time.perf_counter()
            routed = is_who_question(q)
            answer = answerer.answer(q)
            text = answer.to_text() if answer else ""
            timings.append((time.perf_counter() - t) * 1000)
            assert routed and text, q
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"warm who-answers (route + rules + text): n={len(timings)} p50={p50:.1f} ms "
          f"p95={p95:.1f} ms max={timings[-1]:.1f} ms")
    engine.dispose()
    tmp.cleanup()
    return 0 if p95 <= 50 else 2


if __name__ == "__main__":
    sys.exit(main())
