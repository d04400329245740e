"""Callback data of buttons that act on a versioned record: "<prefix><action>:<key>:<version>".

The record's version when the buttons were shown travels with the press, so the record's owner
can refuse a press made on an outdated screen (a second tap, another admin was quicker, the
record changed) instead of acting on it. Ledger items and held duplicate uploads use this.
"""
from __future__ import annotations


def versioned_data(prefix: str, action: str, key: str | int, version: int) -> str:
    return f"{prefix}{action}:{key}:{version}"


def parse_versioned(data: str, prefix: str) -> tuple[str, str, int] | None:
    """(action, key, version) from ``versioned_data``'s form, None if malformed."""
    if not data.startswith(prefix):
        return None
    try:
        action, rest = data[len(prefix):].split(":", 1)
        key, version = rest.rsplit(":", 1)
        return action, key, int(version)
    except ValueError:
        return None
