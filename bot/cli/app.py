"""The ``safetybot`` command group; each subject's commands live in a module of their own."""
from __future__ import annotations

import click

from bot.runtime import Runtime
from knowledge.config import Settings


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """安全生产 duty & rectification assistant."""
    runtime = Runtime(Settings())
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _register_subcommands() -> None:
    from bot.cli import channels, duties, knowledge, ledger, reminders, run

    for module in (knowledge, duties, ledger, reminders, channels, run):
        module.register(main)


_register_subcommands()
