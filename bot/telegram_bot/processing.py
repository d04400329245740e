"""Concurrent update processing that keeps each person's messages in order.

Questions from different people run side by side (retrieval happens in worker threads), while the
updates of one person in one chat are handled one after another, so a guided conversation such as
/report never sees its steps out of order.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerSenderUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[tuple[int | None, int | None], tuple[asyncio.Lock, int]] = {}

    @staticmethod
    def _key(update: object) -> tuple[int | None, int | None]:
        if not isinstance(update, Update):
            return (None, None)
        chat, user = update.effective_chat, update.effective_user
        return (chat.id if chat else None, user.id if user else None)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]  # forget idle senders so the table does not grow forever
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
