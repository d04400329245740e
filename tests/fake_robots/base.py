"""What the three fake robot servers share: lifecycle, robots, sliding-window rate counting."""
from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Arrival:
    at: float                    # monotonic time of arrival
    payload: dict[str, Any]
    text: str                    # the message text as the group would read it
    mentions: tuple[str, ...] = ()


@dataclass
class FakeRobot:
    key: str
    secret: str | None = None
    received: list[Arrival] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (code, message) answered
    accepted_at: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0
    removed: bool = False

    @property
    def texts(self) -> list[str]:
        return [a.text for a in self.received]


class FakeRobotServer:
    """Subclasses add routes (``routes``) and the platform's checks."""

    key_param = ""

    def __init__(self, *, windows: tuple[tuple[int, float], ...], host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.windows = windows
        self.robots: dict[str, FakeRobot] = {}
        self.requests = 0
        self.held = 0                  # requests parked by ``hold_after``
        self.failures: list[int] = []  # HTTP statuses to answer the next requests with
        self._hold_after: int | None = None
        self._open = asyncio.Event()
        self._open.set()
        self._runner: web.AppRunner | None = None

    # ---- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeRobotServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    # ---- robots -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_robot(self, secret: str | None = None, key: str | None = None) -> FakeRobot:
        robot = FakeRobot(key=key or secrets.token_hex(16), secret=secret)
        self.robots[robot.key] = robot
        return robot

    def url(self, robot: FakeRobot) -> str:
        raise NotImplementedError

    @property
    def received(self) -> list[Arrival]:
        return [a for r in self.robots.values() for a in r.received]

    # ---- holding requests (a sender killed mid-dispatch) ------------------------------------------
    def hold_after(self, accepted: int) -> None:
        """Park every request once ``accepted`` messages arrived, until ``release``."""
        self._hold_after = accepted
        self._open.clear()

    def release(self) -> None:
        self._hold_after = None
        self._open.set()

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these HTTP statuses (e.g. 502 from the platform's gateway)."""
        self.failures.extend(statuses)

    async def gate(self, request: web.Request) -> web.Response | None:
        """An answer that ends the request early, or None to handle it. A failure on demand
        (``fail_next``) is answered at once; a request parked by ``hold_after`` whose sender went
        away meanwhile is dropped like by a platform that never processed it (nothing recorded)."""
        if self.failures:
            return web.Response(status=self.failures.pop(0), text="Bad Gateway")
        if self._hold_after is None or len(self.received) < self._hold_after:
            return None
        self.held += 1
        await self._open.wait()
        gone = request.transport is None or request.transport.is_closing()
        return web.Response(status=499) if gone else None

    # ---- rate limits ------------------------------------------------------------------------
    def over_limit(self, robot: FakeRobot, now: float) -> bool:
        """Whether one more message now breaks a window (counted over accepted messages)."""
        longest = max(seconds for _, seconds in self.windows)
        while robot.accepted_at and robot.accepted_at[0] <= now - longest:
            robot.accepted_at.popleft()
        for limit, seconds in self.windows:
            if sum(1 for t in robot.accepted_at if t > now - seconds) >= limit:
                return True
        return False

    def accept(self, robot: FakeRobot, arrival: Arrival) -> None:
        robot.accepted_at.append(arrival.at)
        robot.received.append(arrival)

    @staticmethod
    def now() -> float:
        return time.monotonic()

