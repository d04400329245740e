"""click's own words (usage lines, option errors, the --help option) in Chinese, like the rest of the CLI,
and its help tables aligned for Chinese text.

click looks its messages up through ``gettext``/``ngettext``, names bound in each of its modules at
import time. ``install()`` rebinds those names to a lookup in ``MESSAGES``, which holds the
messages an admin can meet; anything else stays as click wrote it. It must run before the
commands are defined, because ``click.Path`` translates its name ("file") when it is created.
"""
from __future__ import annotations

import click._compat
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

MESSAGES = {
    "Usage:": "用法:",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本说明并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "可运行 '{command} {option}' 查看说明。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少子命令。",
    "No such command {name!r}.": "没有 {name!r} 这个命令。",
    "No such option {name!r}.": "没有 {name!r} 这个选项。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不需要值。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数字。",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，这里需要文件夹。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹，这里需要文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 无法读取（没有权限）。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 无法写入（没有权限）。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "Aborted!": "已取消。",
    "Repeat for confirmation": "请再输入一次确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Confirm the action without prompting.": "不再询问，直接执行。",
    "Do you want to continue?": "是否继续？",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "deprecated": "已弃用",
}
# ngettext: the singular form keys both forms (Chinese does not inflect for number).
PLURAL_MESSAGES = {
    "Got unexpected extra argument ({args})": "多余的参数：{args}",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "{value!r} is not {choice}.": "{value!r} 无效，只能是 {choice}。",
    "Did you mean {possibility}?": "是否想输入 {possibility}？",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
}
PLURAL_MESSAGES_BY_PLURAL = {
    "{value!r} is not one of {choices}.": "{value!r} 无效，可选：{choices}。",
    "(Did you mean one of: {possibilities}?)": "（是否想输入以下之一：{possibilities}？）",
}

CLICK_MODULES = (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.termui,
                 click.types)


def gettext(message: str) -> str:
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if n != 1 and plural in PLURAL_MESSAGES_BY_PLURAL:
        return PLURAL_MESSAGES_BY_PLURAL[plural]
    if singular in PLURAL_MESSAGES:
        return PLURAL_MESSAGES[singular]
    return singular if n == 1 else plural


def term_len(text: str) -> int:
    """Terminal columns of help text: CJK characters take two (click counts one)."""
    from bot.cli.common import display_width

    return display_width(click._compat.strip_ansi(text))


def install() -> None:
    click.formatting.term_len = term_len  # aligns the option table of --help by display width
    for module in CLICK_MODULES:
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
