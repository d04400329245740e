"""The boundary every delivery channel implements."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from knowledge.reminders.messages import Reminder


class Outcome(StrEnum):
    SENT = "sent"
    # Throttled or a passing server/network fault that outlasted the channel's own retries:
    # the outbox may try again later (this run or the next).
    RETRY = "retry"
    # The recipient cannot be reached until someone acts: blocked the bot, left or removed the
    # group, invalid robot key, rejected signature. Reported to admins, not retried daily forever.
    UNDELIVERABLE = "undeliverable"
    # The request may have arrived (timed out after sending): never resent automatically.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    message_ids: tuple[str, ...] = ()  # platform message ids, when the platform returns them
    error: str | None = None           # short and free of secrets (no tokens, keys or signatures)


class Channel(Protocol):
    """Renders a reminder in the platform's format and sends it to one address of that platform.

    ``address`` is the channel-specific destination: a Telegram chat id, or a group robot's name.
    Implementations respect the platform's size and rate limits themselves and never raise for
    delivery faults: every fault is an ``Outcome``.
    """

    kind: str  # "telegram" | "wecom" | "dingtalk" | "feishu"

    async def deliver(self, address: str, reminder: Reminder) -> DeliveryResult: ...
