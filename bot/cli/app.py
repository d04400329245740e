"""The ``safetybot`` command group; each subject's commands live in a module of their own."""
from __future__ import annotations

import click

from bot.cli.errors import FaultReportingGroup
from bot.runtime import Runtime
from knowledge.config import Settings


@click.group(cls=FaultReportingGroup)
@click.option("--debug", is_flag=True, help="命令出错时在屏幕上显示完整的错误追踪（默认只写入日志）。")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """安全生产 duty & rectification assistant."""
    runtime = Runtime(Settings())
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _register_subcommands() -> None:
    from bot.cli import duties, knowledge, ledger, run

    for module in (knowledge, duties, ledger, run):
        module.register(main)


_register_subcommands()
