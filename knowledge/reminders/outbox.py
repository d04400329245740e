"""The reminder outbox: one row per delivery, so that every reminder is sent once.

A row is keyed by (channel kind, address, day, reminder kind). Rows are created with
``INSERT … ON CONFLICT DO NOTHING``, so planning the same day twice (two instances, the daily job
and a manual ``reminders send``, a restart) creates nothing new. A worker *claims* a row right
before sending it: on PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, on SQLite with a
conditional UPDATE checked by its row count; only the claimant sends. A crash resumes with every
row not yet claimed; a row confirmed ``sent`` is never sent again. The claim is taken right
before the send (after the channel's rate limiter admitted it), so the rows a dead process held
are the few sends that were in flight: they become ``unknown`` (``settle_abandoned_claims``),
exactly like a send that timed out, rather than risking a second copy.

States: pending → claimed → sent | failed (temporary fault, claimable again by a later run) |
undeliverable (blocked, chat gone) | unknown (the send timed out and may have arrived: never
resent automatically, counted in the log for an operator to check).

The row keeps the whole ``Reminder`` as JSON, so a resumed dispatch sends what was planned,
not a re-plan made hours later. No chat platform in here.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from pydantic import TypeAdapter
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from knowledge.db import Base
from knowledge.models import utcnow
from knowledge.reminders.messages import (
    Destination,
    DigestCounts,
    Recipient,
    RecipientKind,
    Reminder,
    ReminderItem,
    ReminderKind,
    Unreachable,
    Urgency,
)

# Longer than any send including its retries (429 waits, back-off): a claim this old has no live
# process behind it.
CLAIM_TIMEOUT = timedelta(minutes=5)
ABANDONED = "发送进程中断，结果未知（未自动重发）"
# A failed row is tried again by later runs of the same day, up to this many attempts in all.
MAX_ATTEMPTS = 5


class OutboxState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"
    UNKNOWN = "unknown"


FINAL_STATES = (OutboxState.SENT, OutboxState.UNDELIVERABLE, OutboxState.UNKNOWN)


class OutboxEntry(Base):
    __tablename__ = "reminder_outbox"
    __table_args__ = (
        UniqueConstraint("channel", "address", "day", "kind", name="uq_reminder_outbox_key"),
        Index("ix_reminder_outbox_address", "channel", "address", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))           # "telegram", "wecom", ...
    address: Mapped[str] = mapped_column(String(200))          # chat id, robot name
    day: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(20))              # ReminderKind
    recipient_kind: Mapped[str] = mapped_column(String(20))
    recipient_name: Mapped[str] = mapped_column(String(200))
    official_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    items: Mapped[list[str]] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)      # the Reminder, see encode()
    state: Mapped[str] = mapped_column(String(20), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_ids: Mapped[list[str] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# ------------------------------------------------------------------------------ payload codec
# pydantic validates and serialises the stdlib dataclasses of ``messages`` (enums, dates, tuples,
# the Destination named tuple) quickly, and ignores keys a later version no longer has.
_REMINDER = TypeAdapter(Reminder)


def encode(reminder: Reminder) -> dict[str, Any]:
    """The reminder as JSON-safe data (dates as ISO strings, enums as their values)."""
    return _REMINDER.dump_python(reminder, mode="json")


def decode(data: dict[str, Any]) -> Reminder:
    """The inverse of ``encode``."""
    return _REMINDER.validate_python(data)


# ------------------------------------------------------------------------------ repository
@dataclass(frozen=True)
class Delivery:
    """One planned delivery: a reminder to one address of one channel."""

    channel: str
    address: str
    reminder: Reminder
    # Created directly in this state (e.g. UNDELIVERABLE for an address known to be blocked).
    state: OutboxState = OutboxState.PENDING
    error: str | None = None


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    address: str
    reminder: Reminder
    attempts: int


@dataclass(frozen=True)
class Candidate:
    id: int
    channel: str
    address: str


class Outbox:
    """The outbox table, through short transactions of its own (safe from many threads/processes)."""

    def __init__(self, sessions: sessionmaker[Session], *, claim_timeout: timedelta = CLAIM_TIMEOUT,
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        self.sessions = sessions
        self.claim_timeout = claim_timeout
        self.max_attempts = max_attempts

    # -- creating
    @staticmethod
    def enqueue(session: Session, deliveries: Iterable[Delivery]) -> int:
        """Insert rows for ``deliveries`` in the caller's transaction (so the planner's escalation
        records commit together with them); existing keys are left alone. Returns rows created."""
        rows = [_row(d) for d in deliveries]
        if not rows:
            return 0
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(OutboxEntry).on_conflict_do_nothing(
            index_elements=["channel", "address", "day", "kind"]).returning(OutboxEntry.id)
        # executemany with RETURNING: SQLAlchemy batches it ("insertmanyvalues"); rowcount would
        # be -1 on psycopg, so the returned ids are counted.
        created = len(session.execute(stmt, rows).all())
        return created

    @staticmethod
    def merge_unreachable(session: Session, day: date, kind: str, found: Sequence[Unreachable]) -> None:
        """Add ``found`` to the not-yet-sent rows of ``kind`` on ``day`` (the admin summary)."""
        rows = session.scalars(select(OutboxEntry).where(
            OutboxEntry.day == day, OutboxEntry.kind == kind, OutboxEntry.state == OutboxState.PENDING)
            .with_for_update()).all()
        for row in rows:
            reminder = decode(row.payload)
            known = {(u.name, u.reason) for u in reminder.unreachable}
            extra = tuple(u for u in found if (u.name, u.reason) not in known)
            if extra:
                row.payload = encode(dataclasses.replace(reminder, unreachable=reminder.unreachable + extra))

    def has_day(self, day: date) -> bool:
        with self.sessions() as session:
            return session.scalar(select(OutboxEntry.id).where(OutboxEntry.day == day).limit(1)) is not None

    # -- claiming
    def _claimable(self) -> Any:
        return or_(
            OutboxEntry.state == OutboxState.PENDING,
            (OutboxEntry.state == OutboxState.FAILED) & (OutboxEntry.attempts < self.max_attempts),
        )

    def candidates(self, day: date, *, limit: int = 200, after: int = 0,
                   kinds: Sequence[str] | None = None, exclude_kinds: Sequence[str] = ()) -> list[Candidate]:
        """Rows that may be claimed now, oldest first (not yet claimed: see ``claim``)."""
        query = select(OutboxEntry.id, OutboxEntry.channel, OutboxEntry.address).where(
            OutboxEntry.day == day, self._claimable())
        if after:
            query = query.where(OutboxEntry.id > after)
        if kinds is not None:
            query = query.where(OutboxEntry.kind.in_(list(kinds)))
        if exclude_kinds:
            query = query.where(OutboxEntry.kind.not_in(list(exclude_kinds)))
        with self.sessions() as session:
            rows = session.execute(query.order_by(OutboxEntry.id).limit(limit)).all()
        return [Candidate(r.id, r.channel, r.address) for r in rows]

    def claim(self, entry_id: int, worker: str) -> Claimed | None:
        """Take one row for sending; None when another worker (or process) has it or it is done."""
        now = utcnow()
        with self.sessions.begin() as session:
            claimable = (OutboxEntry.id == entry_id) & self._claimable()
            if session.get_bind().dialect.name == "postgresql":
                # Row lock, skipping a row another transaction is claiming right now.
                locked = session.scalar(select(OutboxEntry.id).where(claimable)
                                        .with_for_update(skip_locked=True))
                if locked is None:
                    return None
            result = session.execute(
                update(OutboxEntry).where(claimable)
                .values(state=OutboxState.CLAIMED, claimed_by=worker, claimed_at=now,
                        attempts=OutboxEntry.attempts + 1)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                return None  # someone else's conditional UPDATE won
            row = session.execute(select(OutboxEntry.channel, OutboxEntry.address, OutboxEntry.payload,
                                         OutboxEntry.attempts).where(OutboxEntry.id == entry_id)).one()
        return Claimed(entry_id, row.channel, row.address, decode(row.payload), row.attempts)

    def settle_abandoned_claims(self, day: date, host: str, alive: Callable[[int], bool]) -> int:
        """Claims whose process is gone: on ``host`` a process no longer running (``alive(pid)``
        False), anywhere a claim older than ``claim_timeout``. A row is claimed right before its
        send, so such a send may or may not have arrived: the row becomes ``unknown`` — never
        resent automatically, counted and listed by ``reminders log`` for an operator to check."""
        stale = utcnow() - self.claim_timeout
        settled = 0
        with self.sessions.begin() as session:
            rows = session.execute(select(OutboxEntry.id, OutboxEntry.claimed_by, OutboxEntry.claimed_at).where(
                OutboxEntry.day == day, OutboxEntry.state == OutboxState.CLAIMED)).all()
            for row in rows:
                local = (row.claimed_by or "").startswith(f"{host}:")
                pid = worker_pid(row.claimed_by)
                dead = local and pid is not None and not alive(pid)
                if not dead and _aware(row.claimed_at) >= stale:
                    continue
                settled += session.execute(
                    update(OutboxEntry).where(OutboxEntry.id == row.id, OutboxEntry.state == OutboxState.CLAIMED,
                                              OutboxEntry.claimed_by == row.claimed_by)
                    .values(state=OutboxState.UNKNOWN, error=ABANDONED, finished_at=utcnow())
                    .execution_options(synchronize_session=False)).rowcount or 0
        return settled

    def resend_unknown(self, day: date) -> int:
        """An operator checked with the recipients: send the ``unknown`` rows of ``day`` again."""
        with self.sessions.begin() as session:
            return session.execute(update(OutboxEntry).where(
                OutboxEntry.day == day, OutboxEntry.state == OutboxState.UNKNOWN)
                .values(state=OutboxState.PENDING, claimed_by=None, claimed_at=None, finished_at=None)
                .execution_options(synchronize_session=False)).rowcount or 0

    # -- recording outcomes
    def finish(self, entry_id: int, worker: str, state: OutboxState, *, message_ids: Sequence[str] = (),
               error: str | None = None, also: Callable[[Session], object] | None = None) -> bool:
        """Record the outcome of a claimed row, and run ``also`` in the same transaction; False if
        the row is not (or no longer) this worker's: nothing is written."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxEntry)
                # UNKNOWN too: a slow worker whose claim was settled as abandoned still knows best.
                .where(OutboxEntry.id == entry_id, OutboxEntry.claimed_by == worker,
                       OutboxEntry.state.in_([OutboxState.CLAIMED, OutboxState.UNKNOWN]))
                .values(state=state, message_ids=list(message_ids) or None, error=error,
                        finished_at=utcnow() if state in FINAL_STATES else None)
                .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                return False
            if also is not None:
                also(session)
            return True

    # -- reading
    def entries(self, day: date) -> list[OutboxEntry]:
        with self.sessions() as session:
            return list(session.scalars(select(OutboxEntry).where(OutboxEntry.day == day)
                                        .order_by(OutboxEntry.id)))

    def find(self, channel: str, address: str, day: date, kind: str) -> OutboxEntry | None:
        with self.sessions() as session:
            return session.scalar(select(OutboxEntry).where(
                OutboxEntry.channel == channel, OutboxEntry.address == address, OutboxEntry.day == day,
                OutboxEntry.kind == kind))

    def entry(self, entry_id: int) -> OutboxEntry | None:
        with self.sessions() as session:
            return session.get(OutboxEntry, entry_id)

    def state_counts(self, day: date) -> dict[str, int]:
        with self.sessions() as session:
            rows = session.execute(select(OutboxEntry.state, func.count()).where(OutboxEntry.day == day)
                                   .group_by(OutboxEntry.state)).all()
        return {state: count for state, count in rows}


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite: naive UTC


def worker_pid(worker: str | None) -> int | None:
    """The process id in a worker name "host:pid:token"."""
    try:
        return int((worker or "").split(":")[1])
    except (IndexError, ValueError):
        return None


def _row(delivery: Delivery) -> dict[str, Any]:
    reminder = delivery.reminder
    recipient = reminder.recipient
    return {
        "channel": delivery.channel,
        "address": delivery.address,
        "day": reminder.day,
        "kind": str(reminder.kind),
        "recipient_kind": str(recipient.kind),
        "recipient_name": recipient.name,
        "official_id": recipient.official_id,
        "unit_id": recipient.unit_id,
        "items": reminder.item_numbers,
        "payload": encode(reminder),
        "state": str(delivery.state),
        "attempts": 0,
        "error": delivery.error,
        "created_at": utcnow(),
        "finished_at": utcnow() if delivery.state in FINAL_STATES else None,
    }
