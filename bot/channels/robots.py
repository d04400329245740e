"""Group robots in the reminder dispatch: the three channels for the dispatcher's registry
``{kind: Channel}``, the plan with unit-group reminders added, and an address book that sends
each reminder to the destinations the planner chose for it."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.addresses import AddressBook, Addressed
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
from knowledge.reminders.messages import Reminder, Unreachable
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
    """``{"wecom": …, "dingtalk": …, "feishu": …}``; a robot refused for good is marked broken.
    ``targets`` replaces the per-message lookup (e.g. a cache for a burst to the same robots)."""
    mention = service.ledger.settings.reminder_mention
    return {
        kind.value: cls(targets or service.target, mention=mention, on_broken=service.mark_broken, client=client,
                        limits=(limits or {}).get(kind), **options)  # type: ignore[arg-type]
        for kind, cls in CHANNEL_CLASSES.items()
    }


def robot_channel(service: RobotChannelService, kind: str, **options: object) -> WebhookRobotChannel:
    return robot_channels(service, **options)[kind]  # type: ignore[arg-type]


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


class PlannedAddressBook(AddressBook):
    """Sends a reminder to the destinations the planner gave its recipient (robots, linked groups,
    bound accounts); reminders planned without any fall back to the address book's own lookup,
    which also reports who could not be reached."""

    def resolve(self, session: Session, reminders: Sequence[Reminder]) -> tuple[list[Addressed], list[Unreachable]]:
        planned = [r for r in reminders if r.recipient.destinations]
        addressed, unreachable = super().resolve(session, [r for r in reminders if not r.recipient.destinations])
        addressed += [Addressed(d.kind, d.address, r) for r in planned for d in r.recipient.destinations]
        return addressed, unreachable


def robot_dispatcher(ledger: LedgerService, *, client: httpx.AsyncClient | None = None,
                     limits: dict[RobotKind, RobotLimits] | None = None, concurrency: int = 8,
                     **options: object) -> tuple[Dispatcher, dict[str, WebhookRobotChannel]]:
    """A dispatcher for the robots alone (the Telegram channel is added by the bot when it runs)."""
    reminders = ReminderService(ledger)
    channels = robot_channels(RobotChannelService(ledger, reminders), client=client, limits=limits, **options)
    dispatcher = Dispatcher(ledger.sessions, dict(channels), PlannedAddressBook(ledger.settings),  # type: ignore[arg-type]
                            RobotPlanner(reminders), record_escalations=record_escalations, concurrency=concurrency)
    return dispatcher, channels
