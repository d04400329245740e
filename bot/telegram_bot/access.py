"""Who may use the bot where, and who is an administrator.

- Admins: user ids in ``SAFETYBOT_ADMIN_IDS`` plus the administrators of ``SAFETYBOT_ADMIN_CHAT``
  (asked from Telegram, cached for a few minutes).
- Chats: groups listed in ``SAFETYBOT_ALLOWED_CHATS`` and the admin chat; private chats of admins
  and of officials who have bound their account. Anyone may still /start and /bind in private,
  otherwise nobody could ever bind.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram import Bot, Chat, User
from telegram.error import TelegramError

from knowledge.config import Settings
from knowledge.ledger import Actor, LedgerService
from knowledge.ledger.models import Role

log = logging.getLogger(__name__)
ADMIN_CACHE_S = 300.0


class AccessPolicy:
    def __init__(self, settings: Settings, ledger: Callable[[], LedgerService],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._ledger = ledger
        self._clock = clock
        self._chat_admins: set[int] = set()
        self._chat_admins_at = float("-inf")
        self._refresh_lock = asyncio.Lock()
        self._refused: set[int] = set()

    async def is_admin(self, bot: Bot, user_id: int) -> bool:
        if user_id in self.settings.admin_ids:
            return True
        if self.settings.admin_chat is None:
            return False
        return user_id in await self._admin_chat_members(bot)

    async def _admin_chat_members(self, bot: Bot) -> set[int]:
        async with self._refresh_lock:
            if self._clock() - self._chat_admins_at < ADMIN_CACHE_S:
                return self._chat_admins
            try:
                members = await bot.get_chat_administrators(self.settings.admin_chat)  # type: ignore[arg-type]
            except TelegramError as exc:
                # Keep the last known list rather than locking every admin out on a network blip.
                log.warning("cannot read administrators of admin chat %s: %s", self.settings.admin_chat, exc)
                return self._chat_admins
            self._chat_admins = {m.user.id for m in members if not m.user.is_bot}
            self._chat_admins_at = self._clock()
            return self._chat_admins

    def forget_admins(self) -> None:
        """Re-read the admin chat's administrators on the next check."""
        self._chat_admins_at = float("-inf")

    def official(self, user_id: int) -> Actor | None:
        """The bound official acting through this chat account (blocking: a database read)."""
        return self._ledger().actor_for_chat(user_id)

    async def actor(self, bot: Bot, user: User) -> Actor | None:
        """The ledger identity of a chat user: their bound official, or an admin identity."""
        official = await asyncio.to_thread(self.official, user.id)
        if official is not None:
            if official.role != Role.ADMIN and await self.is_admin(bot, user.id):
                # A configured bot admin keeps admin rights on the ledger too, under their own name.
                return Actor(name=official.name, role=Role.ADMIN, official_id=official.official_id,
                             unit_id=official.unit_id, unit_path=official.unit_path, unit_name=official.unit_name)
            return official
        if await self.is_admin(bot, user.id):
            return Actor(name=f"telegram:{user.id} {user.full_name}"[:100], role=Role.ADMIN)
        return None

    async def chat_allowed(self, bot: Bot, chat: Chat, user: User | None) -> bool:
        if chat.id in self.settings.allowed_chats or chat.id == self.settings.admin_chat:
            return True
        if chat.type != Chat.PRIVATE or user is None:
            return False
        if await self.is_admin(bot, user.id):
            return True
        return await asyncio.to_thread(self.official, user.id) is not None

    def first_refusal(self, chat_id: int) -> bool:
        """True the first time a chat is refused; later messages there get no answer at all."""
        if chat_id in self._refused:
            return False
        self._refused.add(chat_id)
        return True

    def allow_again(self, chat_id: int) -> None:
        self._refused.discard(chat_id)
