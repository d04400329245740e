"""Telegram HTML: escaping user text and splitting long replies into valid messages.

Replies are built as lists of *lines*, each of which is balanced HTML on its own (tags never span
a line break). Splitting on line boundaries therefore always yields valid HTML in every part.
"""
from __future__ import annotations

import html
import re

MESSAGE_LIMIT = 4096  # characters of visible text, as Telegram counts them
CAPTION_LIMIT = 1024
_TAG = re.compile(r"<[^>]+>")
_WRAPPED = re.compile(r"^(<(b|i|u|code)>)(.*)(</\2>)$", re.S)


def esc(text: object) -> str:
    """Escape anything typed by a user or read from a document before it goes into HTML."""
    return html.escape(str(text), quote=False)


def bold(text: object) -> str:
    return f"<b>{esc(text)}</b>"


def visible_length(line: str) -> int:
    return len(html.unescape(_TAG.sub("", line)))


def _cut_line(line: str, limit: int) -> list[str]:
    """Cut one over-long line into pieces of at most ``limit`` visible characters."""
    wrapped = _WRAPPED.match(line)
    open_tag, close_tag = (wrapped.group(1), wrapped.group(4)) if wrapped else ("", "")
    inner = wrapped.group(3) if wrapped else line
    plain = html.unescape(_TAG.sub("", inner))
    return [f"{open_tag}{esc(plain[i:i + limit])}{close_tag}" for i in range(0, len(plain), limit)]


def split_lines(lines: list[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join ``lines`` into as few messages as possible, each within ``limit`` visible characters."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        pieces = _cut_line(line, limit) if visible_length(line) > limit else [line]
        for piece in pieces:
            length = visible_length(piece)
            extra = length + (1 if current else 0)
            if current and size + extra > limit:
                parts.append("\n".join(current))
                current, size = [], 0
                extra = length
            current.append(piece)
            size += extra
    if current:
        parts.append("\n".join(current))
    # Telegram strips leading/trailing blank lines; a part of only blank lines would be "empty".
    return [p.strip("\n") for p in parts if p.strip()]


def plain_lines(text: str) -> list[str]:
    """A plain (already user-facing) text as escaped lines."""
    return [esc(line) for line in text.split("\n")]
