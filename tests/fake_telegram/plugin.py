"""pytest fixture: a fake Telegram server running in the test's own event loop.

Register it in tests/conftest.py with::

    from fake_telegram.plugin import tg_server  # noqa: F401
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .server import FakeTelegram


@pytest_asyncio.fixture
async def tg_server() -> AsyncIterator[FakeTelegram]:
    """A started server on 127.0.0.1 (ephemeral port); always stopped after the test."""
    server = FakeTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
