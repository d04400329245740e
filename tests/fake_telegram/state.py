"""What the fake Telegram knows: users, chats, messages, files, pending updates, bot settings.

Also the test-side helpers that play the users' part (``user_message``, ``callback_query``,
``document_message`` ...): they build updates shaped like Telegram's and queue them for the bot.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import mimetypes
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .html_check import utf16_len
from .models import ApiCall, ChatState, ChatType, FakeChat, FakeUser, StoredFile

DEFAULT_TOKEN = "123456789:AAH-fake-telegram-token_for-tests-01"
# Update kinds Telegram leaves out unless asked for explicitly in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Telegram does not take "/b" in "</b>" or "a/b" for a command.
_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")

MessageRef = int | dict[str, Any] | ApiCall


@dataclass
class WebhookState:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    deliveries: list[tuple[int, int | None]] = field(default_factory=list)


def _text_entities(text: str) -> list[dict[str, Any]]:
    """bot_command and mention entities, as Telegram's clients would attach them."""
    found: list[tuple[int, str]] = []
    found += [(m.start(), "bot_command") for m in _COMMAND_RE.finditer(text)]
    found += [(m.start(), "mention") for m in _MENTION_RE.finditer(text)]
    entities = []
    for start, kind in sorted(found):
        pattern = _COMMAND_RE if kind == "bot_command" else _MENTION_RE
        match = pattern.match(text, start)
        assert match is not None
        entities.append(
            {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(match.group())}
        )
    return entities


class TelegramState:
    """The server's world. Methods here never block; they wake waiting pollers via ``_notify``."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "safety_test_bot",
        bot_name: str = "安全生产助手",
    ) -> None:
        self.token = token
        self.bot = FakeUser(
            id=int(token.split(":", 1)[0]), first_name=bot_name, username=bot_username,
            is_bot=True, language_code=None,
        )
        self.users: dict[int, FakeUser] = {self.bot.id: self.bot}
        self.chats: dict[int, ChatState] = {}
        self.message_store: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.bot_commands: dict[tuple[str, int | None, int | None, str], list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.open_callback_queries: set[str] = set()
        self.webhook: WebhookState | None = None
        self.allowed_updates: list[str] | None = None
        self.pending_updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000
        self._user_ids = itertools.count(10_001)
        self._group_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(900_001)
        self._changed = asyncio.Event()
        # Privacy mode (BotFather /setprivacy): off by default, so the bot receives every group
        # message and its own "only answer when addressed" logic is what gets tested.
        self.privacy_mode = False

    # ---- change notification -------------------------------------------------------------
    def _notify(self) -> None:
        """Wake everything waiting for news (long polls, webhook delivery, ``wait_for``)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, timeout: float | None) -> None:
        event = self._changed
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass

    # ---- users and chats -------------------------------------------------------------------
    def user(
        self,
        first_name: str = "用户",
        username: str | None = None,
        *,
        id: int | None = None,
        language_code: str | None = "zh-hans",
    ) -> FakeUser:
        """A new (or re-registered) human user."""
        user = FakeUser(
            id=id if id is not None else next(self._user_ids), first_name=first_name,
            username=username, language_code=language_code,
        )
        self.users[user.id] = user
        return user

    def private_chat(self, user: FakeUser) -> FakeChat:
        """The private chat between ``user`` and the bot (its id is the user's id)."""
        chat = FakeChat(id=user.id, type="private", first_name=user.first_name,
                        username=user.username)
        state = self._register_chat(chat)
        state.members[user.id] = user
        return chat

    def group_chat(
        self,
        title: str,
        *,
        admins: Iterable[FakeUser] = (),
        creator: FakeUser | None = None,
        type: ChatType = "supergroup",
        username: str | None = None,
    ) -> FakeChat:
        """A group or supergroup the bot is a member of, with the given administrators."""
        if type == "private":
            raise ValueError("use private_chat() for private chats")
        number = next(self._group_ids)
        chat_id = -1_001_000_000_000 - number if type == "supergroup" else -4_000_000 - number
        chat = FakeChat(id=chat_id, type=type, title=title, username=username)
        self._register_chat(chat)
        self.set_admins(chat, admins, creator=creator)
        return chat

    def set_admins(
        self, chat: FakeChat, admins: Iterable[FakeUser], *, creator: FakeUser | None = None
    ) -> None:
        state = self._chat_state(chat.id)
        state.admins = list(admins)
        state.creator = creator
        for user in [*state.admins, *([creator] if creator else [])]:
            self.users[user.id] = user
            state.members[user.id] = user

    def block_bot(self, chat: FakeChat, blocked: bool = True) -> None:
        """The user of this private chat blocks the bot: sends then fail with 403."""
        self._chat_state(chat.id).blocked = blocked

    def remove_bot(self, chat: FakeChat, removed: bool = True) -> None:
        """An admin removes the bot from this group: sends then fail with 403."""
        self._chat_state(chat.id).kicked = removed

    def _register_chat(self, chat: FakeChat) -> ChatState:
        state = self.chats.get(chat.id)
        if state is None:
            state = self.chats[chat.id] = ChatState(chat=chat)
        return state

    def _chat_state(self, chat_id: int) -> ChatState:
        state = self.chats.get(chat_id)
        if state is None:
            raise KeyError(f"unknown chat {chat_id}; create it with private_chat()/group_chat()")
        return state

    # ---- messages ---------------------------------------------------------------------------
    def _store_message(
        self,
        state: ChatState,
        sender: FakeUser,
        content: dict[str, Any],
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": state.next_message_id,
            "date": int(time.time()),
            "chat": state.chat.to_dict(),
            "from": sender.to_dict(),
            **content,
        }
        state.next_message_id += 1
        if reply_to is not None:
            nested = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
            message["reply_to_message"] = nested
        self.message_store[(state.chat.id, message["message_id"])] = message
        return copy.deepcopy(message)

    def find_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        message = self.message_store.get((chat_id, message_id))
        return copy.deepcopy(message) if message is not None else None

    def messages(self, chat: FakeChat) -> list[dict[str, Any]]:
        """Current state of every message in ``chat`` (users' and the bot's), oldest first."""
        return [
            copy.deepcopy(message)
            for (chat_id, _), message in sorted(self.message_store.items())
            if chat_id == chat.id
        ]

    def _resolve(self, chat_id: int, ref: MessageRef) -> dict[str, Any]:
        if isinstance(ref, ApiCall):
            ref = ref.result
        if isinstance(ref, dict):
            chat_id = ref["chat"]["id"]
            ref = ref["message_id"]
        message = self.message_store.get((chat_id, int(ref)))
        if message is None:
            raise KeyError(f"no message {ref} in chat {chat_id}")
        return message

    # ---- files ------------------------------------------------------------------------------
    def store_file(
        self,
        data: bytes,
        *,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: int | None = None,
    ) -> StoredFile:
        """Keep a file as Telegram would; ``size`` may be declared larger than ``data``."""
        number = next(self._file_ids)
        digest = hashlib.sha1(data + str(number).encode()).hexdigest()
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        elif mime_type:
            suffix = mimetypes.guess_extension(mime_type) or ""
        stored = StoredFile(
            file_id=f"BQACAgUAAxkBAAI{number:06d}{digest[:24]}",
            file_unique_id=f"AgAD{digest[24:36]}",
            file_path=f"{kind}/file_{number}{suffix}",
            data=data,
            size=len(data) if size is None else size,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_data(self, file_id: str) -> bytes:
        return self.files[file_id].data

    # ---- updates ----------------------------------------------------------------------------
    def inject_update(self, payload: dict[str, Any]) -> int:
        """Queue an update (e.g. ``{"message": {...}}``) for the bot; returns its update_id."""
        self._next_update_id += 1
        update = {"update_id": self._next_update_id, **copy.deepcopy(payload)}
        self.pending_updates.append(update)
        self._notify()
        return update["update_id"]

    def _deliverable(self, limit: int, allowed: Sequence[str] | None) -> list[dict[str, Any]]:
        """Pending updates the bot asked for; others are dropped, as Telegram does."""
        def wanted(update: dict[str, Any]) -> bool:
            kind = next(key for key in update if key != "update_id")
            return kind in allowed if allowed else kind not in OPT_IN_UPDATES

        self.pending_updates = [u for u in self.pending_updates if wanted(u)]
        return copy.deepcopy(self.pending_updates[:limit])

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset > 0:
            self.pending_updates = [u for u in self.pending_updates if u["update_id"] >= offset]
        else:
            self.pending_updates = self.pending_updates[offset:]

    # ---- the users' side ------------------------------------------------------------------
    def _sender_in(self, chat: FakeChat, user: FakeUser) -> ChatState:
        state = self._register_chat(chat)
        self.users[user.id] = user
        state.members[user.id] = user
        return state

    def user_message(
        self,
        chat: FakeChat,
        user: FakeUser,
        text: str,
        *,
        reply_to: MessageRef | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``user`` writes ``text`` in ``chat``; bot_command and mention entities are added."""
        state = self._sender_in(chat, user)
        content: dict[str, Any] = {"text": text}
        found = _text_entities(text) if entities is None else entities
        if found:
            content["entities"] = found
        target = self._resolve(chat.id, reply_to) if reply_to is not None else None
        return self._deliver_message(state, user, content, target)

    def document_message(
        self,
        chat: FakeChat,
        user: FakeUser,
        file_bytes: bytes,
        file_name: str,
        mime_type: str | None = None,
        *,
        file_size: int | None = None,
        caption: str | None = None,
        reply_to: MessageRef | None = None,
    ) -> dict[str, Any]:
        """``user`` sends a file; ``file_size`` may claim more than ``len(file_bytes)``."""
        state = self._sender_in(chat, user)
        mime = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self.store_file(file_bytes, kind="documents", file_name=file_name,
                                 mime_type=mime, size=file_size)
        content: dict[str, Any] = {"document": {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_name": file_name, "mime_type": mime, "file_size": stored.size,
        }}
        self._add_caption(content, caption)
        target = self._resolve(chat.id, reply_to) if reply_to is not None else None
        return self._deliver_message(state, user, content, target)

    def photo_message(
        self,
        chat: FakeChat,
        user: FakeUser,
        image_bytes: bytes,
        *,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
        reply_to: MessageRef | None = None,
    ) -> dict[str, Any]:
        """``user`` sends a photo (one size, the bytes given)."""
        state = self._sender_in(chat, user)
        stored = self.store_file(image_bytes, kind="photos", mime_type="image/jpeg")
        content: dict[str, Any] = {"photo": [{
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "width": width, "height": height, "file_size": stored.size,
        }]}
        self._add_caption(content, caption)
        target = self._resolve(chat.id, reply_to) if reply_to is not None else None
        return self._deliver_message(state, user, content, target)

    def _deliver_message(
        self,
        state: ChatState,
        user: FakeUser,
        content: dict[str, Any],
        target: dict[str, Any] | None,
    ) -> dict[str, Any]:
        message = self._store_message(state, user, content, target)
        if self._bot_receives(state, message):
            self.inject_update({"message": message})
        return message

    def _bot_receives(self, state: ChatState, message: dict[str, Any]) -> bool:
        """Whether Telegram hands this message to the bot (privacy mode approximated:
        commands, @mentions of the bot, replies to the bot; admin bots get everything)."""
        if not self.privacy_mode or state.chat.type == "private":
            return True
        if any(admin.id == self.bot.id for admin in state.admins):
            return True
        text = message.get("text") or message.get("caption") or ""
        mention = f"@{self.bot.username}".lower()
        replied = message.get("reply_to_message", {}).get("from", {}).get("id")
        return text.startswith("/") or mention in text.lower() or replied == self.bot.id

    def buttons(self, message: MessageRef) -> list[tuple[str, str | None]]:
        """(text, callback_data) of the inline buttons a message shows now (after edits)."""
        if isinstance(message, int):
            raise TypeError("pass the message dict or ApiCall, not a bare message id")
        stored = self._resolve(0, message)
        rows = stored.get("reply_markup", {}).get("inline_keyboard", [])
        return [(button["text"], button.get("callback_data")) for row in rows for button in row]

    @staticmethod
    def _add_caption(content: dict[str, Any], caption: str | None) -> None:
        if caption:
            content["caption"] = caption
            found = _text_entities(caption)
            if found:
                content["caption_entities"] = found

    def callback_query(
        self, user: FakeUser, message: MessageRef, data: str, *, check_button: bool = True
    ) -> str:
        """``user`` presses the inline button with ``data`` under the bot's ``message``.

        Returns the callback query id. With ``check_button`` the button must exist on the
        message as it is now (after edits), since a real client can only press shown buttons.
        """
        if isinstance(message, int):
            raise TypeError("pass the message dict or ApiCall, not a bare message id")
        stored = self._resolve(0, message)
        if check_button:
            offered = {callback_data for _, callback_data in self.buttons(message)}
            if data not in offered:
                raise ValueError(f"message has no button with callback_data {data!r}: {offered}")
        self.users[user.id] = user
        query_id = str(next(self._query_ids))
        self.open_callback_queries.add(query_id)
        self.inject_update({"callback_query": {
            "id": query_id,
            "from": user.to_dict(),
            "message": copy.deepcopy(stored),
            "chat_instance": str(abs(stored["chat"]["id"]) * 7 + 3),
            "data": data,
        }})
        return query_id

    # ---- bot settings ---------------------------------------------------------------------
    def commands_for(
        self,
        scope: str = "default",
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
        language_code: str = "",
    ) -> list[dict[str, Any]] | None:
        """Commands the bot set for exactly this scope, or None if it never set any."""
        commands = self.bot_commands.get((scope, chat_id, user_id, language_code))
        return copy.deepcopy(commands) if commands is not None else None
