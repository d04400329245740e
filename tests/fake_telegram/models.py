"""Plain data the fake Telegram server keeps: users, chats, files, recorded API calls."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ChatType = Literal["private", "group", "supergroup"]


class ApiError(Exception):
    """A Bot API error reply: HTTP status plus Telegram's description."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False, "error_code": self.status, "description": self.description
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "zh-hans"
    is_bot: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class FakeChat:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class ChatState:
    """What the server knows about one chat besides its identity."""

    chat: FakeChat
    creator: FakeUser | None = None
    admins: list[FakeUser] = field(default_factory=list)
    members: dict[int, FakeUser] = field(default_factory=dict)
    next_message_id: int = 1
    blocked: bool = False  # private chat whose user blocked the bot
    kicked: bool = False   # group the bot was removed from


@dataclass
class UploadedFile:
    """One multipart file part as the client sent it."""

    filename: str | None
    content_type: str | None
    data: bytes

    def __repr__(self) -> str:  # keep recorded params readable
        return f"UploadedFile({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass
class StoredFile:
    """A file Telegram holds: ``size`` may exceed ``len(data)`` to fake a huge file cheaply."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    size: int
    file_name: str | None = None
    mime_type: str | None = None


class ApiCall(tuple[str, dict[str, Any]]):
    """One request the bot made, unpackable as ``(method, params)``.

    Extra attributes: ``status`` (HTTP status returned) and ``response`` (the JSON body sent back);
    ``result`` is the body's ``result`` for successful calls; ``at`` is ``time.monotonic()``
    when the answer was sent.
    """

    status: int
    response: dict[str, Any]
    at: float  # time.monotonic() when the server answered, for latency measurements

    def __new__(
        cls,
        method: str,
        params: dict[str, Any],
        status: int,
        response: dict[str, Any],
        at: float = 0.0,
    ) -> ApiCall:
        call = super().__new__(cls, (method, params))
        call.status = status
        call.response = response
        call.at = at
        return call

    @property
    def method(self) -> str:
        return self[0]

    @property
    def params(self) -> dict[str, Any]:
        return self[1]

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    def __repr__(self) -> str:
        return f"ApiCall({self.method!r}, {self.params!r}, status={self.status})"
