"""Reading Bot API parameters the way Telegram accepts them.

Telegram takes a query string, ``application/json``, urlencoded forms or ``multipart/form-data``.
In the form encodings every value is a string and structured values (reply_markup, entities ...)
are JSON text; PTB sends exactly that. Here all of them become one typed dict.
"""
from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import BodyPartReader, web

from .models import UploadedFile, bad_request

JSON_FIELDS = frozenset({
    "reply_markup", "entities", "caption_entities", "reply_parameters", "link_preview_options",
    "commands", "scope", "allowed_updates", "media", "results",
})
INT_FIELDS = frozenset({
    "offset", "limit", "timeout", "message_id", "user_id", "cache_time", "max_connections",
    "reply_to_message_id", "message_thread_id", "from_chat_id",
})
BOOL_FIELDS = frozenset({
    "disable_notification", "protect_content", "show_alert", "drop_pending_updates",
    "allow_sending_without_reply", "disable_web_page_preview", "has_spoiler",
    "disable_content_type_detection", "allow_paid_broadcast", "show_caption_above_media",
})
_INT_RE = re.compile(r"-?\d+")


async def read_params(request: web.Request) -> dict[str, Any]:
    """All parameters of one API request, decoded and typed."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as exc:
                raise bad_request("can't parse JSON object") from exc
            if not isinstance(body, dict):
                raise bad_request("JSON object expected")
            params.update(body)
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    params[part.name] = UploadedFile(
                        part.filename, part.headers.get("Content-Type"),
                        bytes(await part.read()),
                    )
                else:
                    params[part.name] = await part.text()
        else:
            params.update(await request.post())
    return normalize(params)


def normalize(params: dict[str, Any]) -> dict[str, Any]:
    """Give form-encoded strings their JSON types and resolve ``attach://name`` references."""
    typed: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, str):
            value = _typed(name, value)
        typed[name] = value
    for name, value in list(typed.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            attached = typed.get(value[len("attach://"):])
            if not isinstance(attached, UploadedFile):
                raise bad_request(f"file {value} not found in the request")
            typed[name] = attached
    return typed


def _typed(name: str, value: str) -> Any:
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise bad_request(f"can't parse {name} JSON object") from exc
    if name in INT_FIELDS:
        if not _INT_RE.fullmatch(value):
            raise bad_request(f"invalid {name} specified")
        return int(value)
    if name in BOOL_FIELDS:
        return value.lower() in ("true", "1")
    if name == "chat_id" and _INT_RE.fullmatch(value):
        return int(value)
    return value
