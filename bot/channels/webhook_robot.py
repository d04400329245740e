"""What the 企业微信, 钉钉 and 飞书 group robots share: look up the robot, pace, sign, post, and
turn the platform's answer into an ``Outcome``.

Subclasses say how to render (``payload``), sign (``request``) and read answers (``verdict``).
Faults never raise: throttling is waited out (or handed back as RETRY when the platform's
penalty is long), an invalid key, removed robot or rejected signature marks the robot broken
(UNDELIVERABLE, reported to admins), a refused message is RETRY (the outbox caps attempts), and a
request that timed out after it was sent is UNKNOWN, never resent automatically.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from bot.channels.base import DeliveryResult, Outcome
from bot.channels.pacer import Pacer, QuietMarks, RateWindow
from bot.channels.robot_text import TEST_TEXT, RobotText, reminder_text
from knowledge.group_robots.secret_box import mask
from knowledge.group_robots.service import BROKEN_REASON, RobotTarget
from knowledge.ledger.errors import LedgerError
from knowledge.reminders.messages import Reminder

_LOG = logging.getLogger(__name__)


class Verdict(Enum):
    SENT = "sent"
    THROTTLED = "throttled"      # the platform's rate limit: wait, then try again
    BROKEN = "broken"            # bad key, removed robot, rejected signature: needs an admin
    REJECTED = "rejected"        # this message was refused (size, format): resending won't help
    TRANSIENT = "transient"      # server busy or 5xx: retry with back-off


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    detail: str = ""


@dataclass(frozen=True)
class RobotLimits:
    """A platform's published limits; tests and benchmarks may pass shorter windows."""

    windows: tuple[RateWindow, ...]
    penalty: float                       # how long the platform throttles after a breach
    quiet: QuietMarks | None = None


class _RedactRobotUrls(logging.Filter):
    """httpx logs every request URL at INFO; robot URLs carry the key (and 钉钉's signature)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def _redact(url: httpx.URL) -> str:
    if url.query:
        return f"{url.scheme}://{url.host}{url.path}?<redacted>"
    path, _, last = url.path.rpartition("/")
    return f"{url.scheme}://{url.host}{path}/{mask(last)}"


_REDACTOR = _RedactRobotUrls()


def install_log_redaction() -> None:
    logger = logging.getLogger("httpx")
    if _REDACTOR not in logger.filters:
        logger.addFilter(_REDACTOR)


class WebhookRobotChannel:
    kind: str = ""
    label: str = ""
    default_limits: RobotLimits
    # The platform's answer codes (documented in each platform module); any other nonzero code
    # refuses the message itself.
    throttled_codes: frozenset[int] = frozenset()
    broken_codes: frozenset[int] = frozenset()
    busy_codes: frozenset[int] = frozenset()

    def __init__(
        self,
        targets: Callable[[str], RobotTarget],
        *,
        mention: bool = False,
        # Marks a robot the platform refused for good; the dispatcher marks its destinations itself,
        # so only direct senders (``channels test``) pass this.
        on_broken: Callable[[str, str], None] | None = None,
        client: httpx.AsyncClient | None = None,
        limits: RobotLimits | None = None,
        max_inline_wait: float = 65.0,
        attempts: int = 3,
        backoff: float = 1.0,
        timeout: float = 10.0,
        max_in_flight: int = 8,
        wall: Callable[[], float] = time.time,
    ) -> None:
        install_log_redaction()
        self.targets = targets
        self.mention = mention
        self.on_broken = on_broken
        self.limits = limits or self.default_limits
        self.max_inline_wait = max_inline_wait
        self.attempts = attempts
        self.backoff = backoff
        self.wall = wall
        self._client = client
        self.owns_client = client is None
        self._timeout = timeout
        self._pacers: dict[str, Pacer] = {}
        # httpx's connection pool scans every connection for every waiting request: thousands of
        # robots posting at once make each request cost O(waiting × connections). 8 requests in
        # flight per platform cost half the CPU of 32 and still make ~160 requests/s at 50 ms RTT.
        self._in_flight = asyncio.Semaphore(max_in_flight)

    # ------------------------------------------------------------------ per platform
    def payload(self, text: RobotText) -> dict[str, Any]:
        raise NotImplementedError

    def request(self, target: RobotTarget, payload: dict[str, Any], now: float) -> tuple[str, dict[str, Any]]:
        """(url, json body) of one signed request."""
        return target.url, payload

    def answer_code(self, body: dict[str, Any]) -> tuple[object, str]:
        """(code, message) of the platform's JSON answer; code 0 is success."""
        return body.get("errcode"), str(body.get("errmsg", ""))

    def verdict(self, status: int, body: dict[str, Any]) -> Answer:
        code, message = self.answer_code(body)
        detail = f"{code} {message}".strip()
        if code == 0:
            return Answer(Verdict.SENT)
        if code in self.throttled_codes:
            return Answer(Verdict.THROTTLED, detail)
        if code in self.broken_codes:
            return Answer(Verdict.BROKEN, detail)
        if code in self.busy_codes:
            return Answer(Verdict.TRANSIENT, detail)
        return Answer(Verdict.REJECTED, detail)

    # ------------------------------------------------------------------ Channel protocol
    async def deliver(self, address: str, reminder: Reminder) -> DeliveryResult:
        return await self._send(address, lambda: self.payload(reminder_text(reminder, mention=self.mention)))

    async def send_test(self, address: str) -> DeliveryResult:
        """One short line, ignoring the broken flag: this is how an admin checks a repair."""
        return await self._send(address, lambda: self.payload(RobotText(TEST_TEXT, ())), test=True)

    async def ready(self, address: str) -> None:
        """Wait until the robot has room, before the dispatcher claims its row (so a claimed row
        is sent at once and a crash leaves almost nothing in flight)."""
        pacer = self.pacer(address)
        while 0 < (wait := pacer.delay()) and pacer.blocked_for <= self.max_inline_wait:
            await pacer.sleep(wait)

    def pacer(self, name: str) -> Pacer:
        pacer = self._pacers.get(name)
        if pacer is None:
            pacer = self._pacers[name] = Pacer(self.limits.windows, quiet=self.limits.quiet)
        return pacer

    async def close(self) -> None:
        if self._client is not None and self.owns_client:
            await self._client.aclose()
            self._client = None

    # ------------------------------------------------------------------ the send loop
    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, limits=httpx.Limits(max_connections=8))
        return self._client

    async def _send(self, address: str, build: Callable[[], dict[str, Any]], test: bool = False) -> DeliveryResult:
        try:
            target = await asyncio.to_thread(self.targets, address)
        except LedgerError as exc:
            return DeliveryResult(Outcome.UNDELIVERABLE, error=exc.message)
        if target.broken and not test:
            return DeliveryResult(Outcome.UNDELIVERABLE, error="群机器人已标记为失效")
        payload = build()
        pacer = self.pacer(target.name)
        failure = "未知错误"
        attempt = throttles = 0
        while attempt < self.attempts:
            if pacer.blocked_for > self.max_inline_wait:
                minutes = max(1, round(pacer.blocked_for / 60))
                return DeliveryResult(Outcome.RETRY, error=f"{self.label}机器人被限流中，约 {minutes} 分钟后再试")
            async with pacer:
                url, body = self.request(target, payload, self.wall())
                try:
                    async with self._in_flight:
                        response = await self.client.post(url, json=body)
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                    answer = Answer(Verdict.TRANSIENT, f"连接失败（{type(exc).__name__}）")
                except httpx.TimeoutException as exc:
                    # The request went out; the robot may have posted it. Never resend blindly.
                    return DeliveryResult(Outcome.UNKNOWN, error=f"{self.label}响应超时（{type(exc).__name__}），消息可能已送达")
                except httpx.HTTPError as exc:
                    answer = Answer(Verdict.TRANSIENT, f"网络错误（{type(exc).__name__}）")
                else:
                    answer = self._read(response)
            detail = _scrub(answer.detail, target)
            if answer.verdict is Verdict.SENT:
                return DeliveryResult(Outcome.SENT)
            if answer.verdict is Verdict.BROKEN:
                reason = f"{BROKEN_REASON}：{self.label}拒绝（{detail}）"
                _LOG.info("robot %s (%s) refused for good: %s", target.name, self.kind, detail)
                if self.on_broken is not None:
                    await asyncio.to_thread(self.on_broken, target.name, reason)
                return DeliveryResult(Outcome.UNDELIVERABLE, error=reason)
            if answer.verdict is Verdict.REJECTED:
                # This message, not the robot, was refused (format, size): the robot stays in use and
                # the outbox's attempt limit keeps the row from being tried forever.
                _LOG.warning("robot %s (%s) rejected a message: %s", target.name, self.kind, detail)
                return DeliveryResult(Outcome.RETRY, error=f"{self.label}拒收该消息：{detail}")
            if answer.verdict is Verdict.THROTTLED:
                pacer.block(self.limits.penalty)
                throttles += 1
                _LOG.info("robot %s (%s) throttled: %s", target.name, self.kind, detail)
                if self.limits.penalty > self.max_inline_wait or throttles > self.attempts:
                    minutes = max(1, round(self.limits.penalty / 60))
                    return DeliveryResult(Outcome.RETRY, error=f"{self.label}限流（{detail}），约 {minutes} 分钟后再试")
                # Throttling is the platform's window, not a fault: it does not use up an attempt.
                continue
            failure = detail
            attempt += 1
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
        return DeliveryResult(Outcome.RETRY, error=failure)

    def _read(self, response: httpx.Response) -> Answer:
        if response.status_code >= 500:
            return Answer(Verdict.TRANSIENT, f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code == 404:
                return Answer(Verdict.BROKEN, "HTTP 404，机器人地址不存在")
            return Answer(Verdict.TRANSIENT, f"HTTP {response.status_code}，响应无法解析")
        return self.verdict(response.status_code, body)


def _scrub(text: str, target: RobotTarget) -> str:
    """Platform messages are short; make sure none of ours (key, secret) rides along."""
    text = text[:200]
    for secret in (target.secret, target.url):
        if secret and secret in text:
            text = text.replace(secret, "****")
    return text
