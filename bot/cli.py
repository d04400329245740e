"""The ``safetybot`` command line."""
from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import click

from bot.runtime import Runtime
from knowledge.config import Settings


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


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """安全生产 duty & rectification assistant."""
    runtime = Runtime(Settings())
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _register_subcommands() -> None:
    # Imported here so each front-end module stays small and owns its own commands.
    from bot import cli_duties, cli_knowledge, cli_ledger, cli_run

    for module in (cli_knowledge, cli_duties, cli_ledger, cli_run):
        module.register(main)


_register_subcommands()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
