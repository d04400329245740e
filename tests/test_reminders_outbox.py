"""The outbox on real SQLite and PostgreSQL: rows created once per key, each row claimed by one
worker even when many race, stale and dead claims taken over, confirmed rows never claimed again."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from knowledge.reminders.messages import (
    DigestCounts,
    Destination,
    Recipient,
    RecipientKind,
    Reminder,
    ReminderItem,
    ReminderKind,
    Unreachable,
    Urgency,
)
from knowledge.reminders.outbox import Delivery, Outbox, OutboxEntry, OutboxState, decode, encode

DAY = date(2026, 3, 2)


def reminder(n: int, kind: ReminderKind = ReminderKind.DAILY) -> Reminder:
    item = ReminderItem(f"YH-2026-{n:04d}", "配电箱未接地", date(2026, 2, 26), Urgency.OVERDUE, 3, "东街道",
                        "张三", actions=("prog", "ext"), acknowledged_on=date(2026, 3, 1))
    who = Recipient(RecipientKind.OFFICIAL, f"官员{n}", official_id=n,
                    destinations=(Destination("telegram", str(1000 + n)),))
    return Reminder(DAY, kind, who, (item,))


def fill(sessions: sessionmaker[Session], count: int) -> int:
    with sessions.begin() as s:
        return Outbox.enqueue(s, [Delivery("telegram", str(1000 + n), reminder(n)) for n in range(count)])


def test_payload_round_trip_keeps_every_field() -> None:
    digest = Reminder(DAY, ReminderKind.DIGEST, Recipient(RecipientKind.GROUP, "东街道", unit_id=4),
                      reminder(1).items, counts=DigestCounts(5, 1, 1, 0))
    summary = Reminder(DAY, ReminderKind.ADMIN_SUMMARY, Recipient(RecipientKind.ADMIN, "管理员"),
                       unreachable=(Unreachable("赵六", "未绑定", ("YH-2026-0003",)),))
    for r in (reminder(1), digest, summary):
        assert decode(encode(r)) == r


def test_rows_are_created_once_per_key(sessions: sessionmaker[Session]) -> None:
    assert fill(sessions, 5) == 5
    assert fill(sessions, 7) == 2  # five keys existed
    with sessions.begin() as s:  # same recipient, another kind: a row of its own
        assert Outbox.enqueue(s, [Delivery("telegram", "1000", reminder(0, ReminderKind.ESCALATION))]) == 1
    assert Outbox(sessions).state_counts(DAY) == {"pending": 8}


def test_racing_workers_claim_each_row_exactly_once(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 60)
    outbox = Outbox(sessions)
    ids = [c.id for c in outbox.candidates(DAY, limit=1000)]

    def worker(name: str) -> list[int]:
        won = []
        for entry_id in ids:  # everybody tries every row
            if outbox.claim(entry_id, name) is not None:
                won.append(entry_id)
        return won

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(worker, [f"host:1:w{i}" for i in range(6)]))
    claimed = [i for won in results for i in won]
    assert sorted(claimed) == sorted(ids)
    assert outbox.state_counts(DAY) == {"claimed": 60}


def test_confirmed_rows_are_never_claimed_again_and_a_lost_claim_writes_nothing(
        sessions: sessionmaker[Session]) -> None:
    fill(sessions, 2)
    outbox = Outbox(sessions, claim_timeout=timedelta(seconds=0))
    first, second = (c.id for c in outbox.candidates(DAY))
    assert outbox.claim(first, "a:1:x") is not None
    assert outbox.finish(first, "a:1:x", OutboxState.SENT, message_ids=["17"])
    assert outbox.claim(first, "b:1:y") is None  # sent: final
    assert outbox.claim(second, "a:1:x") is not None
    # The claim timed out (timeout 0) and another worker took the row over...
    assert outbox.claim(second, "b:1:y") is not None
    # ...so the first worker's late result is not recorded.
    assert not outbox.finish(second, "a:1:x", OutboxState.SENT)
    assert outbox.finish(second, "b:1:y", OutboxState.SENT)
    rows = {r.id: r for r in outbox.entries(DAY)}
    assert rows[first].message_ids == ["17"] and rows[second].attempts == 2


def test_a_live_claim_is_not_taken_before_the_timeout(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 1)
    outbox = Outbox(sessions)
    (entry,) = outbox.candidates(DAY)
    assert outbox.claim(entry.id, "a:1:x") is not None
    assert outbox.candidates(DAY) == [] and outbox.claim(entry.id, "b:1:y") is None
    with sessions.begin() as s:  # six minutes later
        s.execute(update(OutboxEntry).values(claimed_at=OutboxEntry.claimed_at - timedelta(minutes=6)))
    assert outbox.claim(entry.id, "b:1:y") is not None


def test_claims_of_a_dead_process_on_this_host_are_released_at_once(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 3)
    outbox = Outbox(sessions)
    a, b, c = (x.id for x in outbox.candidates(DAY))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    outbox.claim(a, f"here:{dead_pid}:x")        # a process that has exited
    outbox.claim(b, f"here:{os.getpid()}:y")     # this one, alive
    outbox.claim(c, f"elsewhere:{dead_pid}:z")   # another host: cannot tell, waits for the timeout

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    assert outbox.release_dead_claims(DAY, "here", alive) == 1
    assert [x.id for x in outbox.candidates(DAY)] == [a]


def test_failed_rows_are_retried_up_to_the_attempt_limit(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 1)
    outbox = Outbox(sessions, max_attempts=2)
    (entry,) = outbox.candidates(DAY)
    for _ in range(2):
        assert outbox.claim(entry.id, "a:1:x") is not None
        outbox.finish(entry.id, "a:1:x", OutboxState.FAILED, error="502")
    assert outbox.candidates(DAY) == [] and outbox.claim(entry.id, "a:1:x") is None
