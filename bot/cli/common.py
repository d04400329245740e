"""What every command module shares: output in text or JSON, and who is acting."""
from __future__ import annotations

import getpass
import json
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
    help="Output format.",
)


def current_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover - no passwd entry in some containers
        return "cli:unknown"
