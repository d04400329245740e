"""Dispatching a day's reminders: plan → outbox rows → claim → deliver → record.

The plan's rows are created in one transaction together with the planner's escalation records,
so an escalation is recorded exactly when its reminder is queued. A day is planned once: when its
rows exist already (another instance, an earlier run, a run that crashed) the dispatcher only
sends what is not yet confirmed. Several dispatchers (threads, processes, instances on one
PostgreSQL database) may drain the same day: each row is claimed by exactly one of them.
The admin summary goes last, so it can name whoever turned out undeliverable in this run.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import Channel, DeliveryResult, Outcome
from knowledge.reminders.messages import Reminder, ReminderKind, Unreachable
from knowledge.reminders.outbox import Claimed, Delivery, Outbox, OutboxState

log = logging.getLogger(__name__)

STATE_OF = {
    Outcome.SENT: OutboxState.SENT,
    Outcome.RETRY: OutboxState.FAILED,
    Outcome.UNDELIVERABLE: OutboxState.UNDELIVERABLE,
    Outcome.UNKNOWN: OutboxState.UNKNOWN,
}


class DayPlan(Protocol):
    day: date
    working_day: bool
    reminders: Sequence[Reminder]
    unreachable: Sequence[Unreachable]


Planner = Callable[[date], DayPlan]
# Called with the session that creates the outbox rows, so both commit together.
EscalationRecorder = Callable[[Session, Sequence[Reminder]], object]
# (channel kind, address, reason, session): a destination failed for good; the planner stops
# addressing it and lists it in the admin summary until an admin clears it.
UndeliverableMarker = Callable[[str, str, str, Session], object]


@dataclass
class DispatchReport:
    day: date
    working_day: bool = True
    planned: bool = False        # this run planned the day (False: it resumed an earlier plan)
    created: int = 0             # outbox rows this run created
    sent: int = 0
    skipped: int = 0             # already sent before this run
    failed: int = 0              # temporary faults (tried again by a later run)
    undeliverable: int = 0
    unknown: int = 0             # timed out, may have arrived: never resent automatically
    unreachable: list[Unreachable] = field(default_factory=list)

    @property
    def nothing_new(self) -> bool:
        return not (self.sent or self.failed or self.undeliverable or self.unknown)


def worker_name() -> str:
    """"host:pid:token": a restart on the same host can tell the claims of a killed process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Dispatcher:
    def __init__(self, sessions: sessionmaker[Session], channels: dict[str, Channel], planner: Planner, *,
                 record_escalations: EscalationRecorder | None = None,
                 mark_undeliverable: UndeliverableMarker | None = None,
                 outbox: Outbox | None = None, concurrency: int = 8, worker: str | None = None) -> None:
        self.sessions = sessions
        self.channels = channels
        self.planner = planner
        self.record_escalations = record_escalations
        self.mark_undeliverable = mark_undeliverable
        self.outbox = outbox or Outbox(sessions)
        self.concurrency = concurrency
        self.worker = worker or worker_name()
        self._host = self.worker.split(":", 1)[0]

    async def dispatch(self, day: date) -> DispatchReport:
        report = DispatchReport(day)
        if not await asyncio.to_thread(self.outbox.has_day, day):
            plan = await asyncio.to_thread(self.planner, day)
            report.working_day = plan.working_day
            if not plan.working_day:
                return report
            report.planned = True
            report.created = await asyncio.to_thread(self._enqueue, plan.reminders)
            report.unreachable = list(plan.unreachable)
        before = await asyncio.to_thread(self.outbox.state_counts, day)
        report.skipped = before.get(OutboxState.SENT, 0)
        abandoned = await asyncio.to_thread(self.outbox.settle_abandoned_claims, day, self._host, _alive)
        if abandoned:
            log.warning("reminders %s: %d sends of an interrupted run have an unknown outcome (not resent)",
                        day, abandoned)
        outcomes = await self._drain(day, exclude_kinds=[ReminderKind.ADMIN_SUMMARY])
        await asyncio.to_thread(self._complete_summary, day)
        outcomes += await self._drain(day, kinds=[ReminderKind.ADMIN_SUMMARY])
        report.sent = outcomes[Outcome.SENT]
        report.failed = outcomes[Outcome.RETRY]
        report.undeliverable = outcomes[Outcome.UNDELIVERABLE]
        report.unknown = outcomes[Outcome.UNKNOWN] + abandoned
        if report.unknown:
            log.warning("reminders %s: %d sends timed out with unknown outcome (not resent; see `reminders log`)",
                        day, report.unknown)
        log.info("reminders %s: sent %d, already sent %d, failed %d, undeliverable %d, unknown %d",
                 day, report.sent, report.skipped, report.failed, report.undeliverable, report.unknown)
        return report

    # -- planning into the outbox
    def _enqueue(self, reminders: Sequence[Reminder]) -> int:
        deliveries = [Delivery(d.kind, d.address, r) for r in reminders for d in r.recipient.destinations]
        with self.sessions.begin() as session:
            created = self.outbox.enqueue(session, deliveries)
            if self.record_escalations is not None:
                self.record_escalations(session, [r for r in reminders if r.kind == ReminderKind.ESCALATION])
        return created

    def _complete_summary(self, day: date) -> None:
        """Add whoever turned out undeliverable in this day's sending to the admin summary.

        When the planner made no summary (everyone was reachable at planning time), the day is
        planned again: the destinations just marked undeliverable now appear in its summary.
        """
        rows = self.outbox.entries(day)
        found = [Unreachable(row.recipient_name, row.error or "无法送达", tuple(row.items))
                 for row in rows if row.state == OutboxState.UNDELIVERABLE and row.kind != ReminderKind.ADMIN_SUMMARY]
        if not found:
            return
        if not any(row.kind == ReminderKind.ADMIN_SUMMARY for row in rows):
            summaries = [r for r in self.planner(day).reminders if r.kind == ReminderKind.ADMIN_SUMMARY]
            self._enqueue(summaries)
        with self.sessions.begin() as session:
            self.outbox.merge_unreachable(session, day, ReminderKind.ADMIN_SUMMARY, found)

    # -- sending
    async def _drain(self, day: date, *, kinds: Sequence[str] | None = None,
                     exclude_kinds: Sequence[str] = ()) -> Counter[Outcome]:
        outcomes: Counter[Outcome] = Counter()
        after = 0  # rows are visited in id order, each once per drain
        queue: list = []
        lock = asyncio.Lock()

        async def next_candidate():  # type: ignore[no-untyped-def]
            nonlocal after
            async with lock:
                if not queue:
                    queue.extend(await asyncio.to_thread(
                        self.outbox.candidates, day, after=after, kinds=kinds, exclude_kinds=exclude_kinds))
                if not queue:
                    return None
                candidate = queue.pop(0)
                after = candidate.id
                return candidate

        async def work() -> None:
            while (candidate := await next_candidate()) is not None:
                channel = self.channels.get(candidate.channel)
                if channel is None:
                    continue  # a channel this instance does not run (e.g. a robot without its key)
                ready = getattr(channel, "ready", None)
                if ready is not None:
                    await ready(candidate.address)
                claimed = await asyncio.to_thread(self.outbox.claim, candidate.id, self.worker)
                if claimed is None:
                    continue  # another dispatcher has it, or it was finished meanwhile
                result = await self._deliver(channel, claimed)
                also = None
                if result.outcome == Outcome.UNDELIVERABLE and self.mark_undeliverable is not None:
                    marker, reason = self.mark_undeliverable, result.error or "无法送达"
                    also = lambda session: marker(claimed.channel, claimed.address, reason, session)  # noqa: E731
                if await asyncio.to_thread(self.outbox.finish, claimed.id, self.worker, STATE_OF[result.outcome],
                                           message_ids=result.message_ids, error=result.error, also=also):
                    outcomes[result.outcome] += 1

        await asyncio.gather(*(work() for _ in range(self.concurrency)))
        return outcomes

    @staticmethod
    async def _deliver(channel: Channel, claimed: Claimed) -> DeliveryResult:
        try:
            return await channel.deliver(claimed.address, claimed.reminder)
        except Exception as exc:  # a channel must not raise; if one does, the row is retried later
            log.exception("channel %s raised for row %d", channel.kind, claimed.id)
            return DeliveryResult(Outcome.RETRY, error=f"{type(exc).__name__}: {str(exc)[:150]}")
