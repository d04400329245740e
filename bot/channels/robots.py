"""The three group-robot channels, built from settings and the channel configuration, for the
dispatcher's registry ``{kind: Channel}``."""
from __future__ import annotations

import httpx

from bot.channels.dingtalk import DingTalkChannel
from bot.channels.feishu import FeishuChannel
from bot.channels.webhook_robot import RobotLimits, WebhookRobotChannel
from bot.channels.wecom import WeComChannel
from knowledge.group_robots import RobotChannelService, RobotKind

CHANNEL_CLASSES: dict[RobotKind, type[WebhookRobotChannel]] = {
    RobotKind.WECOM: WeComChannel, RobotKind.DINGTALK: DingTalkChannel, RobotKind.FEISHU: FeishuChannel,
}


def robot_channels(
    service: RobotChannelService,
    *,
    client: httpx.AsyncClient | None = None,
    limits: dict[RobotKind, RobotLimits] | None = None,
    **options: object,
) -> dict[str, WebhookRobotChannel]:
    """``{"wecom": …, "dingtalk": …, "feishu": …}``; a robot refused for good is marked broken."""
    mention = service.ledger.settings.reminder_mention
    return {
        kind.value: cls(service.target, mention=mention, on_broken=service.mark_broken, client=client,
                        limits=(limits or {}).get(kind), **options)  # type: ignore[arg-type]
        for kind, cls in CHANNEL_CLASSES.items()
    }
