"""Fake 钉钉 custom robot: ``POST /robot/send?access_token=T[&timestamp=MS&sign=S]``.

Past 20 messages in a window the robot is blocked for ``ban`` seconds, like 钉钉's 10 minutes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from aiohttp import web

from .base import Arrival, FakeRobot, FakeRobotServer

TEXT_BYTES = 20000
HOUR_MS = 3600 * 1000


class FakeDingTalk(FakeRobotServer):
    def __init__(self, *, per_minute: int = 20, window: float = 60.0, ban: float = 600.0, **kw: Any) -> None:
        super().__init__(windows=((per_minute, window),), **kw)
        self.ban = ban
        self.bans = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/robot/send", self._send)

    def url(self, robot: FakeRobot) -> str:
        return f"{self.base_url}/robot/send?access_token={robot.key}"

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        if (early := await self.gate(request)) is not None:
            return early
        robot = self.robots.get(request.query.get("access_token", ""))
        if robot is None or robot.removed:
            return _answer(None, 300005, "token is not exist")
        if robot.secret is not None:
            error = _check_sign(robot.secret, request.query.get("timestamp", ""), request.query.get("sign", ""))
            if error:
                return _answer(robot, 310000, error)
        now = self.now()
        if now < robot.blocked_until:
            return _answer(robot, 130101, "send too fast, exceed 20 times per minute")
        try:
            body = await request.json()
        except ValueError:
            return _answer(robot, 40035, "缺少参数 json")
        msgtype = body.get("msgtype")
        if msgtype == "markdown":
            md = body.get("markdown", {})
            content, title = str(md.get("text", "")), str(md.get("title", ""))
            if not title or not content:
                return _answer(robot, 40035, "缺少参数 markdown.title/text")
        elif msgtype == "text":
            content = str(body.get("text", {}).get("content", ""))
        else:
            return _answer(robot, 400105, "不支持的消息类型")
        if len(content.encode()) > TEXT_BYTES:
            return _answer(robot, 460101, "message too long, exceed 20000 bytes")
        if self.over_limit(robot, now):
            robot.blocked_until = now + self.ban
            self.bans += 1
            return _answer(robot, 130101, "send too fast, exceed 20 times per minute")
        at = body.get("at") or {}
        # 钉钉 highlights a mention only when the text also carries "@<mobile>".
        mentions = tuple(m for m in at.get("atMobiles") or () if f"@{m}" in content)
        self.accept(robot, Arrival(now, body, content, mentions))
        return _answer(None, 0, "ok")


def _check_sign(secret: str, timestamp: str, sign: str) -> str | None:
    if not timestamp.isdigit() or not sign:
        return "sign not match, more: [missing timestamp or sign]"
    if abs(int(timestamp) - int(time.time() * 1000)) > HOUR_MS:
        return "invalid timestamp"
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    # aiohttp has already URL-decoded the query, as 钉钉's server does.
    if not hmac.compare_digest(expected, sign):
        return "sign not match, more: [fake]"
    return None


def _answer(robot: FakeRobot | None, code: int, message: str) -> web.Response:
    if robot is not None and code:
        robot.rejected.append((code, message))
    return web.json_response({"errcode": code, "errmsg": message})
