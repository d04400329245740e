"""Group robots in the reminder dispatch: the three channels for the dispatcher's registry
``{kind: Channel}`` and the day's plan with the unit-group reminders added."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import httpx
from sqlalchemy import select

from bot.channels.dispatch import Dispatcher
from bot.channels.dingtalk import DingTalkChannel
from bot.channels.feishu import FeishuChannel
from bot.channels.webhook_robot import RobotLimits, WebhookRobotChannel
from bot.channels.wecom import WeComChannel
from knowledge.group_robots import RobotChannelService, RobotKind, RobotTarget
from knowledge.group_robots.routing import robot_destinations, with_group_reminders
from knowledge.ledger import LedgerService
from knowledge.ledger.models import Unit
from knowledge.reminders.escalation import record_escalations
from knowledge.reminders.planner import DayPlan
from knowledge.reminders.service import ReminderService

CHANNEL_CLASSES: dict[RobotKind, type[WebhookRobotChannel]] = {
    RobotKind.WECOM: WeComChannel, RobotKind.DINGTALK: DingTalkChannel, RobotKind.FEISHU: FeishuChannel,
}


def robot_channels(
    service: RobotChannelService,
    *,
    client: httpx.AsyncClient | None = None,
    limits: dict[RobotKind, RobotLimits] | None = None,
    targets: Callable[[str], RobotTarget] | None = None,
    **options: object,
) -> dict[str, WebhookRobotChannel]:
    """``{"wecom": …, "dingtalk": …, "feishu": …}``, sharing one HTTP client.
    ``targets`` replaces the per-message lookup (e.g. a cache for a burst to the same robots)."""
    mention = service.ledger.settings.reminder_mention
    shared = client or httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_connections=8 * len(CHANNEL_CLASSES)))
    channels = {
        kind.value: cls(targets or service.target, mention=mention, client=shared,
                        limits=(limits or {}).get(kind), **options)  # type: ignore[arg-type]
        for kind, cls in CHANNEL_CLASSES.items()
    }
    for channel in channels.values():
        channel.owns_client = client is None  # then ``close()`` closes it (closing twice is harmless)
    return channels


def robot_channel(service: RobotChannelService, kind: str, **options: object) -> WebhookRobotChannel:
    """One channel for sending directly (``channels test``): it marks a refused robot itself."""
    return CHANNEL_CLASSES[RobotKind(kind)](service.target, mention=service.ledger.settings.reminder_mention,
                                            on_broken=service.mark_broken, **options)  # type: ignore[arg-type]


class RobotPlanner:
    """The day's plan (``ReminderService.plan``) with the unit-group reminders for robots added."""

    def __init__(self, reminders: ReminderService) -> None:
        self.reminders = reminders

    def __call__(self, day: date) -> DayPlan:
        plan = self.reminders.plan(day)
        if not plan.working_day:
            return plan
        with self.reminders.ledger.sessions() as s:
            robots = robot_destinations(s)
            names = {uid: name for uid, name in s.execute(select(Unit.id, Unit.name).where(Unit.id.in_(list(robots))))}
        return with_group_reminders(plan, robots, names)


def robot_dispatcher(ledger: LedgerService, *, client: httpx.AsyncClient | None = None,
                     limits: dict[RobotKind, RobotLimits] | None = None, concurrency: int = 8,
                     **options: object) -> tuple[Dispatcher, dict[str, WebhookRobotChannel]]:
    """A dispatcher with the robot channels alone (tests, benchmarks; the bot and ``reminders
    send`` use ``bot.channels.setup``, which adds Telegram)."""
    reminders = ReminderService(ledger)
    channels = robot_channels(RobotChannelService(ledger, reminders), client=client, limits=limits, **options)
    dispatcher = Dispatcher(ledger.sessions, dict(channels), RobotPlanner(reminders),  # type: ignore[arg-type]
                            record_escalations=record_escalations, mark_undeliverable=reminders.mark_undeliverable,
                            concurrency=concurrency)
    return dispatcher, channels
