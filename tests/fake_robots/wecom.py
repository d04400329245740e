"""Fake 企业微信 group robot: ``POST /cgi-bin/webhook/send?key=KEY``."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import Arrival, FakeRobot, FakeRobotServer

MARKDOWN_BYTES = 4096
TEXT_BYTES = 2048


class FakeWeCom(FakeRobotServer):
    def __init__(self, *, per_minute: int = 20, window: float = 60.0, **kw: Any) -> None:
        super().__init__(windows=((per_minute, window),), **kw)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/cgi-bin/webhook/send", self._send)

    def url(self, robot: FakeRobot) -> str:
        return f"{self.base_url}/cgi-bin/webhook/send?key={robot.key}"

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        if (early := await self.gate(request)) is not None:
            return early
        robot = self.robots.get(request.query.get("key", ""))
        if robot is None or robot.removed:
            return _answer(None, 93000, "invalid webhook url, hint: [fake]")
        try:
            body = await request.json()
        except ValueError:
            return _answer(robot, 40035, "invalid json")
        msgtype = body.get("msgtype")
        if msgtype == "markdown":
            content = str(body.get("markdown", {}).get("content", ""))
            if len(content.encode()) > MARKDOWN_BYTES:
                return _answer(robot, 40058, "markdown.content exceed max length 4096")
            mentions: tuple[str, ...] = ()  # markdown cannot @-mention
        elif msgtype == "text":
            text = body.get("text", {})
            content = str(text.get("content", ""))
            if len(content.encode()) > TEXT_BYTES:
                return _answer(robot, 40058, "text.content exceed max length 2048")
            mentions = tuple(text.get("mentioned_mobile_list") or ())
        else:
            return _answer(robot, 40008, "invalid message type")
        if not content:
            return _answer(robot, 44004, "empty content")
        now = self.now()
        if self.over_limit(robot, now):
            return _answer(robot, 45009, "api freq out of limit")
        self.accept(robot, Arrival(now, body, content, mentions))
        return _answer(None, 0, "ok")


def _answer(robot: FakeRobot | None, code: int, message: str) -> web.Response:
    if robot is not None and code:
        robot.rejected.append((code, message))
    return web.json_response({"errcode": code, "errmsg": message})
