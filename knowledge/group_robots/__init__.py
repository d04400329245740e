"""Group-robot channels (企业微信/钉钉/飞书 webhook robots): configuration, secrets, routing.

Delivery itself lives in ``bot/channels/`` (one module per platform); this package only knows
which robots exist, for which unit, how their keys are kept, and which reminders they get.
"""
from knowledge.group_robots.models import RobotChannel, RobotKind
from knowledge.group_robots.service import RobotChannelService, RobotChannelView, RobotTarget

__all__ = ["RobotChannel", "RobotChannelService", "RobotChannelView", "RobotKind", "RobotTarget"]
