"""The HTTP client under PTB's Bot: aiohttp in place of PTB's default, httpx.

Why: with many questions in flight the bot spends most of its interpreter time (the GIL) sending
replies, and most of that inside httpx/httpcore's connection pool, which walks every pooled
connection and asks each socket whether it is still readable on every request
(``bench/bench_bot.py`` under ``py-spy --gil``: 46 % of the GIL samples in httpx's
``AsyncClient.request``, 28 % in answering the question). aiohttp's pool hands out an idle
connection without that walk: the event-loop thread's CPU per answer went from 4.7 ms to 2.5 ms.

Kept from PTB's ``HTTPXRequest``: parameters sent form-encoded (multipart when a file goes with
them), PTB's User-Agent, proxies from ``HTTPS_PROXY``/``HTTP_PROXY`` (both honour the
environment), and errors raised as ``TimedOut``/``NetworkError``. aiohttp has no separate write
timeout, so a request with files is bounded as a whole by connect + write + read.
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class RequestNotSent(TimedOut):
    """No connection could be had in time, so nothing was written: sending again cannot post a
    message twice."""


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """A ``telegram.request.BaseRequest`` over one ``aiohttp.ClientSession``.

    The session is made in ``initialize`` (PTB calls it inside the event loop, which aiohttp
    needs) and closed in ``shutdown``; ``initialize`` after ``shutdown`` opens a new one.
    """

    def __init__(self, *, pool_size: int = 256, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=True,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        write = _given(write_timeout, self._media_write_timeout if files else self._write_timeout)

        data: aiohttp.FormData | str | None = None
        headers = None
        if files:
            # Unquoted, as httpx and browsers send them: aiohttp would percent-encode a Chinese
            # file name, and the chat would show 隐患台账.xlsx as %E9%9A%90….xlsx.
            form = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                form.add_field(name, value)
            for name, (filename, content, mime_type) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime_type)
            data = form
        elif request_data is not None:
            data, headers = request_data.url_encoded_parameters() or None, FORM

        limits = (pool, connect, write, read)
        timeout = aiohttp.ClientTimeout(
            total=sum(limits) if files and None not in limits else None,  # type: ignore[arg-type]
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with session.request(method, url, data=data, headers=headers, timeout=timeout) as response:
                body = await response.read()
                # The last part of the URL names the API method (or the file), never the token.
                log.debug("Telegram %s %s: %d", method, url.rsplit("/", 1)[-1], response.status)
                return response.status, body
        except aiohttp.ConnectionTimeoutError as exc:
            raise RequestNotSent("Timed out waiting for a connection; the request was not sent.") from exc
        except asyncio.TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc
