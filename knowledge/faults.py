"""Faults of the environment (database, data folder, other processes), named in words.

The database layer and the data folder raise these instead of driver exceptions, so every front
end can tell a person what is wrong in one or two sentences and keep the details for the log:

- ``message``: what is wrong and what to do, for the operator (command line, admins' chat);
- ``user_message``: one short sentence for a chat user who can do nothing about it;
- ``exit_code``: the command line's exit status (sysexits.h values).

``as_fault`` recognises the same faults in raw driver or OS exceptions that escaped elsewhere.
"""
from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator


class EnvironmentFault(Exception):
    """Something around the data is wrong; nothing the user typed."""

    code = "environment"
    exit_code = 74  # EX_IOERR
    user_message = "系统暂时无法处理数据，已通知管理员，请稍后再试。"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatabaseBusy(EnvironmentFault):
    code = "database_busy"
    exit_code = 75  # EX_TEMPFAIL: trying again later may work
    user_message = "系统正忙（数据库被占用），这次没有完成，请稍后再试。"


class DatabaseReadOnly(EnvironmentFault):
    code = "database_read_only"
    user_message = "系统暂时无法保存数据（数据库只读），已通知管理员；查询不受影响。"


class DatabaseUnreachable(EnvironmentFault):
    code = "database_unreachable"
    exit_code = 69  # EX_UNAVAILABLE
    user_message = "系统暂时连不上数据库，已通知管理员，请稍后再试。"


class DatabaseCorrupt(EnvironmentFault):
    code = "database_corrupt"
    user_message = "系统数据库出现故障，已通知管理员，请稍后再试。"


class DriverMissing(EnvironmentFault):
    code = "driver_missing"
    exit_code = 78  # EX_CONFIG
    user_message = "系统配置有误（缺少数据库驱动），已通知管理员。"


class StorageUnusable(EnvironmentFault):
    """A folder of the data directory cannot be created or written."""

    code = "storage_unusable"
    exit_code = 73  # EX_CANTCREAT
    user_message = "系统暂时无法写入数据文件，已通知管理员，请稍后再试。"


class WriterBusy(EnvironmentFault):
    """Another process holds the writer lock of the data directory for too long."""

    code = "writer_busy"
    exit_code = 75
    user_message = "另一项导入或删除正在进行，这次没有完成，请稍后再试。"


# -- recognising driver and OS errors -------------------------------------------------------------

def busy_message(waited_s: float) -> str:
    return (f"数据库正被另一个程序占用，等待 {waited_s:g} 秒后仍未释放。"
            "请等其他 safetybot 命令或机器人的写入完成后再试。")


def classify_db_error(exc: BaseException, *, where: str, busy_wait_s: float) -> EnvironmentFault | None:
    """The fault a DB-API exception stands for, or None when it is a plain error (constraint, bug)."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.Error):
        if "locked" in text or "busy" in text:
            return DatabaseBusy(busy_message(busy_wait_s))
        if "readonly" in text or "read-only" in text:
            return DatabaseReadOnly(
                f"数据库文件是只读的，不能写入：{where}。查询仍可使用；要修改数据，请让运行 safetybot 的用户"
                "对该文件及其所在文件夹有写权限。")
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return DatabaseCorrupt(
                f"数据库文件已损坏或不是 safetybot 的数据库：{where}。"
                "请从备份恢复该文件，或设置一个新的数据目录（SAFETYBOT_DATA_DIR）重新开始。")
        if "unable to open" in text or "disk i/o" in text:
            return DatabaseUnreachable(
                f"无法打开数据库文件：{where}。请检查该路径存在、磁盘可用、且有读写权限。")
        return None
    module = type(exc).__module__ or ""
    if module.startswith("psycopg"):
        import psycopg

        if isinstance(exc, psycopg.OperationalError) and _is_connection_error(exc):
            return DatabaseUnreachable(
                f"无法连接数据库 {where}。请确认 PostgreSQL 已启动，地址、端口、用户名和密码正确"
                "（SAFETYBOT_DATABASE_URL）。")
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return DatabaseBusy(busy_message(busy_wait_s))
        if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction | psycopg.errors.InsufficientPrivilege):
            return DatabaseReadOnly(
                f"数据库 {where} 不允许写入（只读或权限不足）。查询仍可使用；请让数据库管理员授予写权限。")
        if isinstance(exc, psycopg.errors.DataCorrupted | psycopg.errors.IndexCorrupted):
            return DatabaseCorrupt(f"数据库 {where} 报告数据损坏。请联系数据库管理员检查并从备份恢复。")
    return None


_DISK_PROBLEMS = {
    errno.EACCES: "没有写权限", errno.EPERM: "没有写权限", errno.EROFS: "所在磁盘是只读的",
    errno.ENOSPC: "磁盘空间已满", errno.EDQUOT: "磁盘配额已用完",
}


def classify_os_error(exc: BaseException) -> EnvironmentFault | None:
    """A data file that cannot be written (permissions, read-only disk, disk full)."""
    if isinstance(exc, OSError) and exc.errno in _DISK_PROBLEMS:
        where = exc.filename or "数据文件"
        return StorageUnusable(f"无法写入 {where}：{_DISK_PROBLEMS[exc.errno]}。请处理后再试（数据目录：SAFETYBOT_DATA_DIR）。")
    return None


def _is_connection_error(exc: BaseException) -> bool:
    # A psycopg OperationalError without an SQLSTATE comes from the client: connection refused,
    # unknown host, authentication failed, server gone.
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "28", "57P"))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's exception
        if isinstance(orig, BaseException) and id(orig) not in seen:
            yield orig
            seen.add(id(orig))
        current = current.__cause__ or current.__context__


def as_fault(exc: BaseException, *, where: str = "", busy_wait_s: float = 0) -> EnvironmentFault | None:
    """The environment fault behind ``exc`` (itself, a cause, or a wrapped driver error), if any."""
    for link in _chain(exc):
        if isinstance(link, EnvironmentFault):
            return link
        fault = classify_db_error(link, where=where or "（数据库）", busy_wait_s=busy_wait_s) \
            or classify_os_error(link)
        if fault is not None:
            return fault
    return None
