"""Fake 企业微信, 钉钉 and 飞书 group-robot servers on 127.0.0.1 for end-to-end channel tests.

Each checks the path and key, verifies signatures the platform's way, enforces the platform's
size and rate limits with its own error codes (钉钉 also blocks a robot after a breach) and
records what arrived in ``robot.received``. Rate windows are constructor arguments so tests can
run the real pacing against a shorter window.
"""
from .base import Arrival, FakeRobot, FakeRobotServer
from .dingtalk import FakeDingTalk
from .feishu import FakeFeishu
from .wecom import FakeWeCom

__all__ = ["Arrival", "FakeDingTalk", "FakeFeishu", "FakeRobot", "FakeRobotServer", "FakeWeCom"]
