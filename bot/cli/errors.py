"""The command line's last line of defence: faults in words, details in the log, never a traceback.

Every ``safetybot`` command runs inside ``FaultReportingGroup.invoke``. An environment fault
(``knowledge.faults``) prints its one- or two-line Chinese message and exits with its code; any
other unexpected exception prints one line pointing to the log. The traceback goes to the log file
(``<data dir>/logs/safetybot.log``) and, with ``safetybot --debug``, to the screen as well.
"""
from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from knowledge.faults import as_fault

log = logging.getLogger("safetybot.cli")
log.propagate = False  # the bot's console logging must not print these tracebacks on the screen
log.addHandler(logging.NullHandler())

INTERNAL_EXIT = 1
USAGE_EXIT = 2
LOG_NAME = "safetybot.log"


def invalid_argument(args: Sequence[str]) -> str | None:
    """A message for the first argument that is not valid text (undecodable bytes), else None.

    Python keeps undecodable bytes of argv as lone surrogates; they cannot be stored or printed.
    """
    for n, arg in enumerate(args, 1):
        if any("\udc80" <= ch <= "\udcff" for ch in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            return (f"第 {n} 个参数（{shown}）含有无法识别的字符，不是有效的 UTF-8 文字。"
                    "请把终端或脚本的编码设为 UTF-8 后重新输入。")
    return None


def _log_file(ctx: click.Context) -> Path | None:
    """Attach the log file of the data folder (once) and return its path; None if unusable."""
    settings = getattr(ctx.obj, "settings", None)
    if settings is None:
        return None
    path = settings.data_dir / "logs" / LOG_NAME
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


def report_failure(exc: BaseException, ctx: click.Context, debug: bool) -> int:
    """Tell the person at the terminal what went wrong; return the exit code."""
    command = " ".join(sys.argv[1:3]) if sys.argv else ""
    log_path = _log_file(ctx)
    log.error("command %r failed", ctx.invoked_subcommand or command, exc_info=exc)
    fault = as_fault(exc)
    if fault is not None:
        lines = [f"错误：{fault.message}"]
        code = fault.exit_code
    else:
        where = f"详情已写入 {log_path}" if log_path else "详情可加 --debug 查看"
        lines = [f"出错了：程序内部错误，这次操作没有完成（{where}）。",
                 "请把该信息告诉维护人员；加 --debug 可在屏幕上显示详细信息。"]
        code = INTERNAL_EXIT
    if debug:
        click.echo("".join(traceback.format_exception(exc)), err=True, nl=False)
    for line in lines:
        click.echo(line, err=True)
    return code


class FaultReportingGroup(click.Group):
    """A click group whose commands fail in words (see the module docstring)."""

    def main(self, args: Sequence[str] | None = None, *pargs: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        problem = invalid_argument(argv)
        if problem is not None:
            click.echo(f"错误：{problem}", err=True)
            if kwargs.get("standalone_mode", True):
                sys.exit(USAGE_EXIT)
            raise click.UsageError(problem)
        return super().main(argv, *pargs, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # the one place where unexpected errors become words
            raise click.exceptions.Exit(report_failure(exc, ctx, bool(ctx.params.get("debug")))) from None
