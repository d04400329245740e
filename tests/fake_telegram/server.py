"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the real PTB client.

Point ``ApplicationBuilder().base_url(server.base_url).base_file_url(server.base_file_url)`` at
it. It answers the Bot API over HTTP like Telegram (same JSON envelopes, status codes and error
texts), records every call in ``server.sent``, injects updates on behalf of users and can fail
chosen calls on demand (``fail_next``) to exercise retries.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web

from .methods import API_METHODS, UPLOAD_LIMIT, BotApiMethods
from .models import ApiCall, ApiError
from .params import read_params
from .state import DEFAULT_TOKEN, WebhookState

_LOG = logging.getLogger(__name__)
_TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_NOT_FOUND = ApiError(404, "Not Found")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class _Fault:
    method: str  # lower case
    status: int | None  # None: only delay the call
    retry_after: float | None
    description: str | None
    delay: float
    remaining: int

    def error(self) -> ApiError | None:
        if self.status is None:
            return None
        if self.description:
            description = self.description
        elif self.status == 429:
            description = f"Too Many Requests: retry after {self.retry_after:g}"
        else:
            description = HTTPStatus(self.status).phrase
        parameters = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.status, description, parameters)


class FakeTelegram(BotApiMethods):
    """The fake server. Use ``async with FakeTelegram() as server:`` or the pytest fixture."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "safety_test_bot",
        bot_name: str = "安全生产助手",
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(token=token, bot_username=bot_username, bot_name=bot_name)
        self.host = host
        self.port = 0
        self.requests: list[ApiCall] = []  # every call, getUpdates included
        self.sent: list[ApiCall] = []  # every call except getUpdates
        self.downloads: list[str] = []  # file paths fetched from /file/bot<token>/
        self.webhook_retry_delay = 0.2
        self._faults: list[_Fault] = []
        self._proxies: list[tuple[str, str]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # handler_cancellation: a long poll whose client went away must not linger.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._webhook_worker(), name="fake-telegram-webhook")

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder.base_url`` (PTB appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder.base_file_url`` (PTB appends the token)."""
        return f"{self.url}/file/bot"

    # ---- HTTP -----------------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not _TOKEN_RE.fullmatch(token):
            return web.json_response(_NOT_FOUND.payload(), status=404)
        if token != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        name = request.match_info["method"]
        entry = API_METHODS.get(name.lower())
        method = entry[0] if entry else name
        params: dict[str, Any] = {}
        try:
            params = await read_params(request)
            if entry is None:
                raise _NOT_FOUND
            await self._apply_fault(method)
            result = await entry[1](self, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as exc:
            status, body = exc.status, exc.payload()
        if entry is None:
            _LOG.warning("fake Telegram: method %s is not implemented (404)", name)
        self._record(ApiCall(method, params, status, body, time.monotonic()))
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(_NOT_FOUND.payload(), status=404)
        self.downloads.append(path)
        return web.Response(body=stored.data,
                            content_type=stored.mime_type or "application/octet-stream")

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(_NOT_FOUND.payload(), status=404)

    def _record(self, call: ApiCall) -> None:
        self.requests.append(call)
        if call.method != "getUpdates":
            self.sent.append(call)
        self._notify()

    # ---- fault injection ------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: float | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status`` (429, 500, 502 ...).

        A 429 carries ``parameters.retry_after`` (default 1 s), which PTB turns into RetryAfter.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(_Fault(method.lower(), status, retry_after, description, 0.0, times))

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Delay the next ``times`` calls of ``method`` (to trigger client timeouts)."""
        self._faults.append(_Fault(method.lower(), None, None, None, seconds, times))

    async def _apply_fault(self, method: str) -> None:
        fault = next((f for f in self._faults if f.method == method.lower()), None)
        if fault is None:
            return
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.remove(fault)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        error = fault.error()
        if error is not None:
            raise error

    # ---- inspection -----------------------------------------------------------------------
    def mark(self) -> int:
        """Position in ``sent``; pass it as ``since`` to ``wait_for`` to skip older calls."""
        return len(self.sent)

    def calls(
        self, method: str | None = None, *, chat_id: int | None = None, ok_only: bool = True
    ) -> list[ApiCall]:
        """Recorded calls (without getUpdates), filtered by method, chat and success."""
        return [
            call for call in self.sent
            if (method is None or call.method.lower() == method.lower())
            and (chat_id is None or call.params.get("chat_id") == chat_id)
            and (call.ok or not ok_only)
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float = 5.0,
        since: int = 0,
        status: int | None = 200,
    ) -> ApiCall:
        """The first call of ``method`` (from ``sent[since:]``) whose params match.

        Waits up to ``timeout`` seconds; ``status=None`` also matches failed calls.
        Raises AssertionError listing what was sent instead.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for call in self.sent[since:]:
                if (
                    call.method.lower() == method.lower()
                    and (status is None or call.status == status)
                    and (predicate is None or predicate(call.params))
                ):
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = "\n".join(repr(call) for call in self.sent[since:]) or "(nothing)"
                raise AssertionError(f"no matching {method} within {timeout}s; sent:\n{seen}")
            await self._wait_change(remaining)

    # ---- webhooks -------------------------------------------------------------------------
    def proxy_webhook(self, public_prefix: str, local_prefix: str) -> None:
        """Deliver webhook posts for ``public_prefix…`` to ``local_prefix…``, as a reverse
        proxy in front of the bot would (e.g. ``https://bot.example.org`` to
        ``http://127.0.0.1:8081``)."""
        self._proxies.append((public_prefix, local_prefix))

    def _proxied(self, url: str) -> str:
        for public, local in self._proxies:
            if url.startswith(public):
                return local + url[len(public):]
        return url

    async def post_webhook(
        self, url: str, update: dict[str, Any], *, secret_token: str | None = None
    ) -> int:
        """POST one update to ``url`` the way Telegram delivers webhooks; returns the status.

        ``update`` gets an ``update_id`` if it has none. Independent of ``setWebhook``.
        """
        if self._session is None:
            raise RuntimeError("server not started")
        if "update_id" not in update:
            self._next_update_id += 1
            update = {"update_id": self._next_update_id, **update}
        headers = {SECRET_HEADER: secret_token} if secret_token else {}
        async with self._session.post(
            self._proxied(url), json=update, headers=headers,
            timeout=aiohttp.ClientTimeout(total=10),
        ) as response:
            await response.read()
            return response.status

    async def _webhook_worker(self) -> None:
        """Deliver pending updates to the registered webhook, oldest first, retrying failures."""
        while not self._closing:
            hook = self.webhook
            ready = self._deliverable(1, hook.allowed_updates) if hook is not None else []
            if hook is None or not ready:
                await self._wait_change(None)
                continue
            update = ready[0]
            status, error = await self._deliver(hook, update)
            hook.deliveries.append((update["update_id"], status))
            if status is not None and 200 <= status < 300:
                self.pending_updates = [
                    u for u in self.pending_updates if u["update_id"] != update["update_id"]
                ]
                self._notify()
            else:
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                await asyncio.sleep(self.webhook_retry_delay)

    async def _deliver(self, hook: WebhookState, update: dict[str, Any]) -> tuple[int | None, str]:
        try:
            status = await self.post_webhook(hook.url, update, secret_token=hook.secret_token)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, f"Connection failed: {exc.__class__.__name__}"
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        return status, f"Wrong response from the webhook: {status} {reason}".strip()
