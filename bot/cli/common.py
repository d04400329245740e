"""What every command module shares: output in text or JSON, aligned tables, and who is acting.

Import rule for ``bot/cli/*``: at module level import only click, this module and light domain
modules (``knowledge.models``, ``knowledge.ledger`` and the like). Anything that pulls in the
retrieval stack (``index.*``, torch, faiss, jieba), Telegram, matplotlib or openpyxl is imported
inside the command that uses it, so that ``safetybot docs`` or ``hazards list`` start in well under
a second. ``tests/test_cli_startup.py`` fails when a non-search command imports torch.
"""
from __future__ import annotations

import getpass
import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import click


def emit(data: Any, fmt: str, text: str) -> None:
    """Print ``data`` as JSON or the human-readable ``text``."""
    if fmt == "json":
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(text)


format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="输出格式：text 文本，json 供程序读取。",
)


def current_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover - no passwd entry in some containers
        return "cli:unknown"


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(value: object, width: int, left: bool = True) -> str:
    text = str(value)
    fill = " " * max(0, width - display_width(text))
    return text + fill if left else fill + text


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], right: Iterable[int] = ()) -> list[str]:
    """Lines of a plain-text table with a header row, columns aligned by display width.

    Columns whose index is in ``right`` (numbers) are right-aligned. The last column is not padded.
    """
    cells = [[str(v) for v in headers]] + [[str(v) for v in row] for row in rows]
    right = set(right)
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [pad(v, w, i not in right) if i < len(row) - 1 or i in right else v
                 for i, (v, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(parts).rstrip())
    return lines
