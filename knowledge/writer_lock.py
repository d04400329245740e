"""One writer at a time per data folder, across processes.

Ingest, remove, status changes and rules loads change the database *and* the index files of a
data folder; two processes doing that at once used to trip over each other's temporary files and
overwrite each other's index. Each write therefore holds an exclusive file lock on
``<data dir>/writer.lock`` while it commits and saves. A second writer waits for it up to
``Settings.writer_lock_wait`` seconds and is then refused with ``WriterBusy``. The lock is held
only around the commit and index save (seconds), not while a document is being embedded, so
two concurrent ingests normally both succeed one after the other.

The lock is an OS lock (``filelock``): a crashed holder releases it automatically.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from knowledge.faults import WriterBusy

log = logging.getLogger(__name__)

# Threads of one process (the bot's worker threads) take turns on a thread lock first, so the file
# lock only arbitrates between processes; one FileLock object per path makes nested use re-entrant.
_locks: dict[Path, tuple[threading.RLock, FileLock]] = {}
_locks_guard = threading.Lock()


def _locks_for(path: Path) -> tuple[threading.RLock, FileLock]:
    path = path.resolve()
    with _locks_guard:
        if path not in _locks:
            _locks[path] = (threading.RLock(), FileLock(str(path), thread_local=False))
        return _locks[path]


def writer_busy_message(waited_s: float) -> str:
    return (f"另一个 safetybot 进程正在写入同一个数据目录（已等待 {waited_s:g} 秒）。"
            "请等它完成后再试（导入、删除、改状态、载入职责规则同一时间只能进行一项）。")


@contextmanager
def writer_lock(path: Path, wait_s: float) -> Iterator[None]:
    """Hold the data folder's writer lock; raise WriterBusy after ``wait_s`` seconds of waiting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    local, lock = _locks_for(path)
    if not local.acquire(timeout=max(wait_s, 0)):
        raise WriterBusy(writer_busy_message(wait_s))
    try:
        try:
            lock.acquire(timeout=wait_s)
        except Timeout:
            log.warning("writer lock %s still held by another process after %.1f s", path, wait_s)
            raise WriterBusy(writer_busy_message(wait_s)) from None
        try:
            yield
        finally:
            lock.release()
    finally:
        local.release()
