"""Fake 飞书 custom robot: ``POST /open-apis/bot/v2/hook/TOKEN`` (signature in the body)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from aiohttp import web

from .base import Arrival, FakeRobot, FakeRobotServer

BODY_BYTES = 20 * 1000


class FakeFeishu(FakeRobotServer):
    def __init__(self, *, per_second: int = 5, per_minute: int = 100, second: float = 1.0, minute: float = 60.0,
                 **kw: Any) -> None:
        super().__init__(windows=((per_second, second), (per_minute, minute)), **kw)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/bot/v2/hook/{token}", self._send)

    def url(self, robot: FakeRobot) -> str:
        return f"{self.base_url}/open-apis/bot/v2/hook/{robot.key}"

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        if (early := await self.gate(request)) is not None:
            return early
        robot = self.robots.get(request.match_info["token"])
        if robot is None or robot.removed:
            return _answer(None, 19001, "param invalid: incoming webhook access token invalid")
        raw = await request.read()
        if len(raw) > BODY_BYTES:
            return _answer(robot, 9499, "Bad Request")
        try:
            body = json.loads(raw)
        except ValueError:
            return _answer(robot, 9499, "Bad Request")
        if robot.secret is not None:
            error = _check_sign(robot.secret, str(body.get("timestamp", "")), str(body.get("sign", "")))
            if error:
                return _answer(robot, 19021, error)
        text = _text_of(body)
        if text is None:
            return _answer(robot, 9499, "Bad Request")
        now = self.now()
        if self.over_limit(robot, now):
            return _answer(robot, 11232, "frequency limited")
        self.accept(robot, Arrival(now, body, text))
        return _answer(None, 0, "success")


def _text_of(body: dict[str, Any]) -> str | None:
    content = body.get("content") or {}
    if body.get("msg_type") == "text":
        return content.get("text") or None
    if body.get("msg_type") == "post":
        post = (content.get("post") or {}).get("zh_cn") or {}
        rows = post.get("content")
        if not isinstance(rows, list):
            return None
        lines = [post.get("title", "")]
        lines += ["".join(str(e.get("text", "")) for e in row if isinstance(e, dict)) for row in rows]
        return "\n".join(lines)
    return None


def _check_sign(secret: str, timestamp: str, sign: str) -> str | None:
    message = "sign match fail or timestamp is not within one hour from current time"
    if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > 3600:
        return message
    expected = base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
    return None if hmac.compare_digest(expected, sign) else message


def _answer(robot: FakeRobot | None, code: int, message: str) -> web.Response:
    if robot is not None and code:
        robot.rejected.append((code, message))
    return web.json_response({"code": code, "msg": message, "data": {}})
