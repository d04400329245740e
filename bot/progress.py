"""Progress for long terminal operations (first-run loading, bulk ingest), on stderr.

A stage with one step ("加载嵌入模型") prints its name when it starts and how long it took when it
ends; a stage with several steps draws a bar with done/total, elapsed and remaining time. The
bar is created when the stage starts (done = 0), so the rate is measured from the real start.
"""
from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm

# What one step of a stage is, for the rate ("2.5 份/s"); stages not listed count 项.
UNITS = {"载入内置法规": "份", "读取内置法规": "份", "向量化": "段", "索引": "段"}
BAR_FORMAT = "{desc}：{n_fmt}/{total_fmt} |{bar:24}| 已用 {elapsed}，约剩 {remaining}，{rate_fmt}"


class TerminalProgress:
    """A ``(stage, done, total)`` callback for a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._bars: dict[str, tqdm] = {}
        self._started: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total <= 1:
            self._step(stage, done >= total)
            return
        bar = self._bars.get(stage)
        if bar is None:
            from tqdm import tqdm  # only when there is something long to show

            bar = self._bars[stage] = tqdm(total=total, desc=stage, file=self._stream, leave=True,
                                           unit=UNITS.get(stage, "项"), bar_format=BAR_FORMAT,
                                           initial=done, mininterval=0.5)
        bar.total = total
        if done > bar.n:
            bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del self._bars[stage]

    def _step(self, stage: str, finished: bool) -> None:
        if not finished:
            self._started[stage] = time.monotonic()
            print(f"{stage}…", file=self._stream, flush=True)
        elif stage in self._started:
            took = time.monotonic() - self._started.pop(stage)
            if took >= 1:
                print(f"{stage}：完成（{took:.0f} 秒）", file=self._stream, flush=True)
