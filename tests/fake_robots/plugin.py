"""pytest fixtures: one started fake server per platform, in the test's own event loop."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from .dingtalk import FakeDingTalk
from .feishu import FakeFeishu
from .wecom import FakeWeCom


@pytest_asyncio.fixture
async def wecom_server() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as server:
        yield server  # type: ignore[misc]


@pytest_asyncio.fixture
async def dingtalk_server() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as server:
        yield server  # type: ignore[misc]


@pytest_asyncio.fixture
async def feishu_server() -> AsyncIterator[FakeFeishu]:
    async with FakeFeishu() as server:
        yield server  # type: ignore[misc]
