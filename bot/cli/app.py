"""The ``safetybot`` command group; each subject's commands live in a module of their own.

All command-line text is Simplified Chinese, for the admins who run it: command descriptions,
option help and click's own messages (``bot/cli/zh.py``). Placeholders (FILE, NUMBER) stay Latin.
"""
from __future__ import annotations

import click

from bot.cli import zh

zh.install()  # before any command is defined: click.Path names itself on creation

from bot.cli.errors import FaultReportingGroup  # noqa: E402
from bot.progress import TerminalProgress  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from knowledge.config import Settings  # noqa: E402

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group("safetybot", cls=FaultReportingGroup, context_settings=CONTEXT)
@click.option("--debug", is_flag=True, help="命令出错时在屏幕上显示完整的错误追踪（默认只写入日志）。")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """安全生产助手：法规问答（注明出处）、“谁负责”、隐患整改台账。

    在终端里直接提问：safetybot chat。每个命令都可加 -h 查看说明。
    """
    # Every command that ends up loading the model or the bundled laws says so on stderr.
    runtime = Runtime(Settings(), progress=TerminalProgress())
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _register_subcommands() -> None:
    from bot.cli import channels, duties, knowledge, ledger, reminders, run

    for module in (knowledge, duties, ledger, reminders, channels, run):
        module.register(main)


_register_subcommands()
