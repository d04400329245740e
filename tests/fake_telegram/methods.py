"""The Bot API methods the fake server implements, with Telegram's checks and error texts."""
from __future__ import annotations

import asyncio
import copy
import itertools
import re
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from .html_check import HtmlParseError, ParsedText, parse_html, strip_text, visible_length
from .models import ApiError, ChatState, FakeUser, StoredFile, UploadedFile, bad_request
from .state import TelegramState, WebhookState

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files
UPLOAD_LIMIT = 50 * 1024 * 1024
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
COMMAND_SCOPES = frozenset({
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
    "chat_administrators", "chat_member",
})
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
STALE_QUERY = "query is too old and response timeout expired or query ID is invalid"

Handler = Callable[[Any, dict[str, Any]], Awaitable[Any]]
API_METHODS: dict[str, tuple[str, Handler]] = {}  # lower-case name -> (canonical name, handler)


def api(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        API_METHODS[name.lower()] = (name, func)
        return func
    return register


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG image, None for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5:i + 9])
                return width, height
            i += 2 + length
    return None


class BotApiMethods(TelegramState):
    """Telegram's side of each method. Handlers raise ``ApiError`` exactly where Telegram would."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Real Telegram insists on https and ports 80/88/443/8443; tests usually map the public
        # URL to a local one with FakeTelegram.proxy_webhook instead of relaxing this.
        self.allow_insecure_webhook = False
        self._closing = False
        self._poll_ids = itertools.count(1)
        self._active_poll = 0

    # ---- helpers ------------------------------------------------------------------------
    def _target_chat(self, params: dict[str, Any]) -> ChatState:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        state = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is None:
            raise bad_request("chat not found")
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if state.kicked:
            kind = "supergroup chat" if state.chat.type == "supergroup" else "group chat"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        return state

    @staticmethod
    def _formatted(
        text: str, parse_mode: Any, entities: Any, what: str = "text"
    ) -> ParsedText:
        mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else parse_mode
        if not mode:
            given = entities if isinstance(entities, list) else []
            return strip_text(ParsedText(text, copy.deepcopy(given)))
        if mode == "html":
            try:
                return strip_text(parse_html(text))
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from exc
        if mode in ("markdown", "markdownv2"):
            raise bad_request(f"the fake Telegram server checks only HTML, not {parse_mode} {what}")
        raise bad_request("unsupported parse_mode")

    @staticmethod
    def _inline_markup(markup: Any) -> dict[str, Any] | None:
        """Validate an inline keyboard; other keyboards are accepted but not echoed."""
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton expected")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request("BUTTON_TEXT_INVALID")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
        return copy.deepcopy(markup)

    def _reply_target(self, state: ChatState, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        message_id = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        if message_id is None:
            return None
        target = self.message_store.get((state.chat.id, int(message_id)))
        if target is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return target

    def _file_param(self, params: dict[str, Any], name: str) -> StoredFile | UploadedFile:
        value = params.get(name)
        if isinstance(value, UploadedFile):
            if len(value.data) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            return value
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if value in (None, ""):
            raise bad_request(f"there is no {name} in the request")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption = params.get("caption")
        if not caption:
            return {}
        parsed = self._formatted(
            caption, params.get("parse_mode"), params.get("caption_entities"), "caption"
        )
        if visible_length(parsed.text) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        content: dict[str, Any] = {"caption": parsed.text}
        if parsed.entities:
            content["caption_entities"] = parsed.entities
        return content

    def _bot_message(
        self, state: ChatState, params: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        markup = self._inline_markup(params.get("reply_markup"))
        target = self._reply_target(state, params)
        if markup is not None:
            content["reply_markup"] = markup
        return self._store_message(state, self.bot, content, target)

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        state = self._target_chat(params)
        message = self.message_store.get((state.chat.id, params.get("message_id") or 0))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot.id:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _member(user: FakeUser, status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": user.to_dict()}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                can_delete_messages=True, can_manage_video_chats=True,
                can_restrict_members=True, can_promote_members=False, can_change_info=True,
                can_invite_users=True, can_post_stories=False, can_edit_stories=False,
                can_delete_stories=False, can_pin_messages=True,
            )
        return member

    # ---- identity and updates ------------------------------------------------------------
    @api("getMe")
    async def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot.to_dict(), "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode, "supports_inline_queries": False,
            "can_connect_to_business": False, "has_main_web_app": False,
        }

    @api("getUpdates")
    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            self.allowed_updates = params["allowed_updates"] or None
        self._confirm(params.get("offset"))
        poll_id = next(self._poll_ids)
        self._active_poll = poll_id
        self._notify()  # an older long poll now ends with a conflict
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self._active_poll != poll_id:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                    "that only one bot instance is running")
            ready = self._deliverable(limit, self.allowed_updates)
            remaining = deadline - asyncio.get_running_loop().time()
            if ready or self._closing or remaining <= 0:
                return ready
            await self._wait_change(remaining)

    # ---- messages -------------------------------------------------------------------------
    @api("sendMessage")
    async def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._target_chat(params)
        parsed = self._formatted(
            str(params.get("text") or ""), params.get("parse_mode"), params.get("entities")
        )
        if not parsed.text:
            raise bad_request("message text is empty")
        if visible_length(parsed.text) > MESSAGE_LIMIT:
            raise bad_request("message is too long")
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self._bot_message(state, params, content)

    @api("editMessageText")
    async def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        parsed = self._formatted(
            str(params.get("text") or ""), params.get("parse_mode"), params.get("entities")
        )
        if not parsed.text:
            raise bad_request("message text is empty")
        if visible_length(parsed.text) > MESSAGE_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        markup = self._inline_markup(params.get("reply_markup"))
        if (
            parsed.text == message["text"]
            and parsed.entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(NOT_MODIFIED)
        message["text"] = parsed.text
        message.pop("entities", None)
        if parsed.entities:
            message["entities"] = parsed.entities
        self._set_markup(message, markup)
        return copy.deepcopy(message)

    @api("editMessageReplyMarkup")
    async def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._editable(params)
        markup = self._inline_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise bad_request(NOT_MODIFIED)
        self._set_markup(message, markup)
        return copy.deepcopy(message)

    @staticmethod
    def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
        # Telegram drops the keyboard when an edit does not repeat it.
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())

    @api("deleteMessage")
    async def delete_message(self, params: dict[str, Any]) -> bool:
        state = self._target_chat(params)
        if self.message_store.pop((state.chat.id, params.get("message_id") or 0), None) is None:
            raise bad_request("message to delete not found")
        return True

    @api("sendPhoto")
    async def send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._target_chat(params)
        source = self._file_param(params, "photo")
        if isinstance(source, UploadedFile):
            size = image_size(source.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            source = self.store_file(source.data, kind="photos", mime_type="image/jpeg")
        else:
            size = image_size(source.data) or (1280, 960)
        content: dict[str, Any] = {"photo": [{
            "file_id": source.file_id, "file_unique_id": source.file_unique_id,
            "width": size[0], "height": size[1], "file_size": source.size,
        }], **self._caption(params)}
        return self._bot_message(state, params, content)

    @api("sendDocument")
    async def send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._target_chat(params)
        source = self._file_param(params, "document")
        caption = self._caption(params)
        if isinstance(source, UploadedFile):
            source = self.store_file(
                source.data, kind="documents", file_name=source.filename,
                mime_type=source.content_type or "application/octet-stream",
            )
        document: dict[str, Any] = {
            "file_id": source.file_id, "file_unique_id": source.file_unique_id,
            "file_size": source.size,
        }
        if source.file_name:
            document["file_name"] = source.file_name
        if source.mime_type:
            document["mime_type"] = source.mime_type
        return self._bot_message(state, params, {"document": document, **caption})

    @api("sendChatAction")
    async def send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    @api("answerCallbackQuery")
    async def answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self.open_callback_queries:
            raise bad_request(STALE_QUERY)
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.open_callback_queries.discard(query_id)
        self.callback_answers[query_id] = copy.deepcopy(params)
        return True

    # ---- files ------------------------------------------------------------------------------
    @api("getFile")
    async def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_size": stored.size, "file_path": stored.file_path,
        }

    # ---- chats --------------------------------------------------------------------------------
    @api("getChatAdministrators")
    async def get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        state = self._target_chat(params)
        if state.chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        members = [self._member(state.creator, "creator")] if state.creator else []
        return members + [self._member(user, "administrator") for user in state.admins]

    @api("getChatMember")
    async def get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self._target_chat(params)
        user = self.users.get(params.get("user_id") or 0)
        if user is None:
            raise bad_request("user not found")
        if user.id == self.bot.id:  # the bot is a member of every chat it is asked about
            is_admin = any(admin.id == user.id for admin in state.admins)
            return self._member(user, "administrator" if is_admin else "member")
        if state.creator is not None and state.creator.id == user.id:
            return self._member(user, "creator")
        if any(admin.id == user.id for admin in state.admins):
            return self._member(user, "administrator")
        return self._member(user, "member" if user.id in state.members else "left")

    # ---- commands -------------------------------------------------------------------------
    def _scope_key(self, params: dict[str, Any]) -> tuple[str, int | None, int | None, str]:
        scope = params.get("scope") or {"type": "default"}
        kind = scope.get("type") if isinstance(scope, dict) else None
        if kind not in COMMAND_SCOPES:
            raise bad_request("can't parse BotCommandScope: unsupported scope type")
        chat_id = user_id = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = scope.get("chat_id")
            if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
                chat_id = int(chat_id)
            if chat_id not in self.chats:
                raise bad_request("chat not found")
        if kind == "chat_member":
            user_id = scope.get("user_id")
            if user_id not in self.users:
                raise bad_request("user not found")
        return kind, chat_id, user_id, str(params.get("language_code") or "")

    @api("setMyCommands")
    async def set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(params)
        self.bot_commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    @api("deleteMyCommands")
    async def delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.bot_commands.pop(self._scope_key(params), None)
        return True

    @api("getMyCommands")
    async def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self.bot_commands.get(self._scope_key(params), []))

    # ---- webhook ----------------------------------------------------------------------------
    @api("setWebhook")
    async def set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self.pending_updates.clear()
        if not url:
            self.webhook = None
            self._notify()
            return True
        parts = urlsplit(url)
        if not self.allow_insecure_webhook:
            if parts.scheme != "https":
                raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
            if (parts.port or 443) not in WEBHOOK_PORTS:
                raise bad_request(
                    "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
                )
        elif parts.scheme not in ("http", "https"):
            raise bad_request("bad webhook: Failed to resolve host")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        max_connections = int(params.get("max_connections") or 40)
        if not 1 <= max_connections <= 100:
            raise bad_request("bad max_connections")
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self.allowed_updates = allowed or None
        self.webhook = WebhookState(
            url=url, secret_token=secret, max_connections=max_connections,
            allowed_updates=self.allowed_updates,
        )
        self._notify()
        return True

    @api("deleteWebhook")
    async def delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self.pending_updates.clear()
        self.webhook = None
        self._notify()
        return True

    @api("getWebhookInfo")
    async def get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self.webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info
