"""Per-robot pacing: never send faster than the platform allows, so the platform never has to
throttle (钉钉 blocks a robot for 10 minutes past 20 messages a minute).

A ``Pacer`` keeps the send times of one robot and, before each send, waits until every
``RateWindow`` has room. Clock and sleep are injectable and windows are plain numbers, so tests
and benchmarks can run the same mechanism on a shorter window against fake servers that
enforce that same window.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateWindow:
    limit: int       # at most this many sends ...
    seconds: float   # ... in any window of this length


@dataclass(frozen=True)
class QuietMarks:
    """Wall-clock minutes to stay away from (飞书 asks senders to avoid :00 and :30)."""

    minutes: tuple[int, ...] = (0, 30)
    seconds: float = 60.0        # how long after each mark to hold back

    def wait(self, wall: float) -> float:
        into_hour = wall % 3600
        for minute in self.minutes:
            start = minute * 60
            if start <= into_hour < start + self.seconds:
                return start + self.seconds - into_hour
        return 0.0


class Pacer:
    def __init__(
        self,
        windows: tuple[RateWindow, ...],
        *,
        quiet: QuietMarks | None = None,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.windows = windows
        self.quiet = quiet
        # Sends are recorded when their answer arrives, which is after the platform counted them,
        # however slow the network or a busy event loop; the margin covers clock granularity.
        self.margin = margin
        self.clock, self.wall, self.sleep = clock, wall, sleep
        longest = max((w.limit for w in windows), default=1)
        self._sent: deque[float] = deque(maxlen=longest)
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()
        self.waited = 0.0  # total seconds spent waiting, for benchmarks and logs

    def delay(self) -> float:
        """Seconds to wait before the next send may go out (0 when it may go now)."""
        now = self.clock()
        wait = self._blocked_until - now
        sent = list(self._sent)
        for window in self.windows:
            if len(sent) >= window.limit:
                oldest = sent[-window.limit]
                wait = max(wait, oldest + window.seconds + self.margin - now)
        if self.quiet is not None and wait <= 0:
            wait = self.quiet.wait(self.wall())
        return max(wait, 0.0)

    async def __aenter__(self) -> Pacer:
        """Hold the robot for one send: waits for room; one send at a time, in order."""
        await self._lock.acquire()
        try:
            while (wait := self.delay()) > 0:
                self.waited += wait
                await self.sleep(wait)
        except BaseException:
            self._lock.release()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Counted even when the send failed or was cancelled: the request may have arrived.
        self._sent.append(self.clock())
        self._lock.release()

    def block(self, seconds: float) -> None:
        """The platform throttled us anyway (another sender on the same robot): back off."""
        self._blocked_until = max(self._blocked_until, self.clock() + seconds)

    @property
    def blocked_for(self) -> float:
        return max(self._blocked_until - self.clock(), 0.0)
