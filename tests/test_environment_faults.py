"""Faults of the environment on the command line: one or two lines of Chinese, an exit code, the
traceback only in the log (or with --debug). Real SQLite files, a real PostgreSQL port, real processes."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

WT = Path(__file__).resolve().parents[1]


def run_cli(data: Path, *args: str, **env: str):
    base = {"SAFETYBOT_DATA_DIR": str(data), "SAFETYBOT_LOAD_BUNDLED": "false"}
    return CliRunner().invoke(main, list(args), env={**base, **env})


def assert_worded(result, *phrases: str, code: int) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert "Error" not in result.output.replace("错误", "")  # no exception class names
    for phrase in phrases:
        assert phrase in result.output, result.output
    assert len(result.output.strip().splitlines()) <= 3


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with a database holding one unit."""
    folder = tmp_path / "data"
    assert run_cli(folder, "units", "add", "测试县").exit_code == 0
    return folder


def test_locked_database_waits_the_configured_time_then_says_who_holds_it(data: Path):
    holder = sqlite3.connect(data / "safetybot.sqlite3")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        result = run_cli(data, "units", "add", "乙县", SAFETYBOT_DB_BUSY_TIMEOUT="1")
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert_worded(result, "数据库正被另一个程序占用", "等待 1 秒", code=75)
    assert waited < 8
    log = (data / "logs" / "safetybot.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "database is locked" in log


def test_read_only_database_refuses_writes_but_answers_reads(data: Path):
    url = f"sqlite:///file:{data / 'safetybot.sqlite3'}?mode=ro&uri=true"
    listing = run_cli(data, "units", "list", SAFETYBOT_DATABASE_URL=url)
    assert listing.exit_code == 0 and "测试县" in listing.output
    result = run_cli(data, "units", "add", "乙县", SAFETYBOT_DATABASE_URL=url)
    assert_worded(result, "数据库文件是只读的", "查询仍可使用", code=74)


@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:1/test",               # nothing listens there
    "postgresql://nobody:secret@127.0.0.1:5432/test",       # wrong user and password (when PG runs)
    "postgresql://postgres@no-such-host.invalid:5432/test",  # unknown host
])
def test_unreachable_postgresql(tmp_path: Path, url: str):
    result = run_cli(tmp_path / "data", "docs", SAFETYBOT_DATABASE_URL=url)
    assert_worded(result, "无法连接数据库", "SAFETYBOT_DATABASE_URL", code=69)
    assert "secret" not in result.output


def test_corrupt_database_file(tmp_path: Path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "safetybot.sqlite3").write_bytes(b"this is not a database" * 100)
    result = run_cli(folder, "hazards", "list")
    assert_worded(result, "数据库文件已损坏", "从备份恢复", code=74)


def test_postgresql_driver_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an install without the extra looks like
    result = run_cli(tmp_path / "data", "docs", SAFETYBOT_DATABASE_URL="postgresql://postgres@127.0.0.1/test")
    assert_worded(result, "没有安装", "safetybot[postgres]", code=78)


def test_index_folder_occupied_by_a_file(tmp_path: Path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "index").write_text("not a folder")
    result = run_cli(folder, "docs")
    assert_worded(result, "应该是文件夹，现在却是一个文件", str(folder / "index"), code=73)


def test_debug_shows_the_traceback(tmp_path: Path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "index").write_text("not a folder")
    result = CliRunner().invoke(main, ["--debug", "docs"], env={"SAFETYBOT_DATA_DIR": str(folder)})
    assert result.exit_code == 73
    assert "Traceback" in result.output and "FileExistsError" in result.output
    assert "应该是文件夹" in result.output


def test_invalid_utf8_argument_from_a_real_terminal(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(WT), "SAFETYBOT_DATA_DIR": str(tmp_path / "data"),
           "SAFETYBOT_LOAD_BUNDLED": "false"}
    code = "import sys; from bot.cli import main; sys.argv[0] = 'safetybot'; main()"
    proc = subprocess.run([sys.executable, "-c", code, "ask", os.fsdecode(b"\xb0\xb2\xc8\xab\xff")],
                          env=env, capture_output=True, timeout=120)
    stderr = proc.stderr.decode("utf-8")
    assert proc.returncode == 2, stderr
    assert "第 2 个参数" in stderr and "不是有效的 UTF-8 文字" in stderr
    assert "Traceback" not in stderr and proc.stdout == b""


def test_unexpected_error_points_to_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from knowledge.ledger import LedgerService

    def broken(*_args, **_kwargs):
        raise KeyError("internal")

    monkeypatch.setattr(LedgerService, "list_units", broken)
    folder = tmp_path / "data"
    result = run_cli(folder, "units", "list")
    assert result.exit_code == 1
    assert "程序内部错误" in result.output and str(folder / "logs" / "safetybot.log") in result.output
    assert "KeyError" not in result.output and "Traceback" not in result.output
    assert "KeyError: 'internal'" in (folder / "logs" / "safetybot.log").read_text(encoding="utf-8")


def test_disk_problems_are_named():
    import errno

    from knowledge.faults import StorageUnusable, as_fault

    full = as_fault(OSError(errno.ENOSPC, "No space left on device", "/data/index/keyword.npz"))
    assert isinstance(full, StorageUnusable) and "磁盘空间已满" in full.message
    assert as_fault(OSError(errno.ENOENT, "No such file")) is None  # a bug, not the environment
