"""Two writers on one data folder, as real processes: both succeed, or the second is refused in words;
the database and the index files agree afterwards."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from index.index_store import IndexStore
from index.tokenize import Tokenizer
from knowledge.db import make_engine, session_factory
from knowledge.models import Passage

pytestmark = pytest.mark.slow
WT = Path(__file__).resolve().parents[1]
CLI = "import sys; from bot.cli import main; sys.argv[0] = 'safetybot'; main()"

DOC_A = "# 甲市动火作业管理办法\n\n第一条 动火作业应当办理动火审批手续，由安全管理部门审批。\n\n第二条 动火作业现场应当配备灭火器材，并安排专人监护。\n"
DOC_B = "# 乙县有限空间作业规定\n\n第一条 进入有限空间作业前应当先通风、再检测、后作业。\n\n第二条 有限空间作业应当设置专人监护，严禁盲目施救。\n"


@pytest.fixture
def env(tmp_path: Path, models_dir: Path, embedder) -> dict[str, str]:  # noqa: ARG001 - converts the model once
    return {**os.environ, "PYTHONPATH": str(WT), "SAFETYBOT_DATA_DIR": str(tmp_path / "data"),
            "SAFETYBOT_MODEL_DIR": str(models_dir), "SAFETYBOT_LOAD_BUNDLED": "false"}


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLI, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def test_two_ingests_at_once_both_succeed_and_the_index_holds_both(env, tmp_path: Path, embedder):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(DOC_A, encoding="utf-8")
    b.write_text(DOC_B, encoding="utf-8")
    assert finish(start(env, "docs"))[0] == 0  # create the database first, as a deployment would
    first, second = start(env, "ingest", str(a)), start(env, "ingest", str(b))
    results = [finish(first), finish(second)]
    for code, out, err in results:
        assert code == 0, err
        assert "Traceback" not in err and "新增" in out

    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'safetybot.sqlite3'}")
    with session_factory(engine)() as session:
        db_ids = set(session.scalars(select(Passage.id)))
    engine.dispose()
    store = IndexStore(data / "index", lambda: embedder, Tokenizer())
    assert store.load()
    assert len(db_ids) == 4
    assert store.keyword.id_set() == db_ids  # the files saved last include the other process's work
    assert store.vectors is not None and store.vectors.passage_ids() == db_ids


def test_remove_while_another_process_writes_is_refused_after_the_bounded_wait(env, tmp_path: Path):
    a = tmp_path / "a.md"
    a.write_text(DOC_A, encoding="utf-8")
    assert finish(start(env, "ingest", str(a), "--title", "甲市动火作业管理办法"))[0] == 0
    lock = tmp_path / "data" / "writer.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from knowledge.writer_lock import writer_lock\n"
         f"with writer_lock(Path({str(lock)!r}), 5):\n    print('held', flush=True); time.sleep(60)"],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        code, out, err = finish(start({**env, "SAFETYBOT_WRITER_LOCK_WAIT": "1"}, "remove", "甲市动火作业管理办法"))
        assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()
    assert code == 75
    assert "另一个 safetybot 进程正在写入同一个数据目录" in err and "已等待 1 秒" in err
    assert "Traceback" not in err
    # nothing was removed; with the holder gone the same command goes through
    code, out, err = finish(start(env, "docs"))
    assert "甲市动火作业管理办法" in out
    code, out, err = finish(start(env, "remove", "甲市动火作业管理办法"))
    assert code == 0 and "已删除" in out
