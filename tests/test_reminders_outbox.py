"""The outbox on real SQLite and PostgreSQL: rows created once per key, each row claimed by one
worker even when many race, stale and dead claims taken over, confirmed rows never claimed again."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

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


def test_confirmed_rows_are_never_claimed_again(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 1)
    outbox = Outbox(sessions)
    (entry,) = outbox.candidates(DAY)
    assert outbox.claim(entry.id, "a:1:x") is not None
    assert outbox.claim(entry.id, "b:1:y") is None          # claimed: nobody else may send it
    assert not outbox.finish(entry.id, "b:1:y", OutboxState.SENT)  # nor record it
    assert outbox.finish(entry.id, "a:1:x", OutboxState.SENT, message_ids=["17"])
    assert outbox.candidates(DAY) == [] and outbox.claim(entry.id, "b:1:y") is None
    (row,) = outbox.entries(DAY)
    assert (row.state, row.message_ids, row.attempts) == ("sent", ["17"], 1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_claims_of_a_dead_process_become_unknown_not_resent(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 4)
    outbox = Outbox(sessions)
    a, b, c, d = (x.id for x in outbox.candidates(DAY))
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(exited.stdout)
    outbox.claim(a, f"here:{dead_pid}:x")        # a process on this host that has exited
    outbox.claim(b, f"here:{os.getpid()}:y")     # this one, alive: its claim stands
    outbox.claim(c, f"elsewhere:{dead_pid}:z")   # another host: cannot tell before the timeout
    assert outbox.settle_abandoned_claims(DAY, "here", alive) == 1
    states = {r.id: r.state for r in outbox.entries(DAY)}
    assert states == {a: "unknown", b: "claimed", c: "claimed", d: "pending"}
    assert [x.id for x in outbox.candidates(DAY)] == [d]
    with sessions.begin() as s:  # six minutes later the other host's claim is settled too
        s.execute(update(OutboxEntry).where(OutboxEntry.id == c)
                  .values(claimed_at=datetime.now(UTC) - timedelta(minutes=6)))
    assert outbox.settle_abandoned_claims(DAY, "here", alive) == 1
    # The live worker finishing late still records what really happened.
    assert outbox.finish(b, f"here:{os.getpid()}:y", OutboxState.SENT)
    # An operator who checked with the recipients may send the unknown ones again.
    assert outbox.resend_unknown(DAY) == 2
    assert sorted(x.id for x in outbox.candidates(DAY)) == sorted([a, c, d])


def test_failed_rows_are_retried_up_to_the_attempt_limit(sessions: sessionmaker[Session]) -> None:
    fill(sessions, 1)
    outbox = Outbox(sessions, max_attempts=2)
    (entry,) = outbox.candidates(DAY)
    for _ in range(2):
        assert outbox.claim(entry.id, "a:1:x") is not None
        outbox.finish(entry.id, "a:1:x", OutboxState.FAILED, error="502")
    assert outbox.candidates(DAY) == [] and outbox.claim(entry.id, "a:1:x") is None
