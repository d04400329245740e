"""Terminal progress: one-step stages say what they do, bars count from the real start."""
from __future__ import annotations

import io
import re
import time

from bot.progress import TerminalProgress


def test_a_long_single_step_says_what_it_does_and_how_long_it_took():
    out = io.StringIO()
    progress = TerminalProgress(out)
    progress("加载嵌入模型", 0, 1)
    time.sleep(1.05)
    progress("加载嵌入模型", 1, 1)
    assert out.getvalue().splitlines() == ["加载嵌入模型…", "加载嵌入模型：完成（1 秒）"]


def test_the_bar_counts_from_the_start_of_the_stage():
    out = io.StringIO()
    progress = TerminalProgress(out)
    progress("载入内置法规", 0, 27)
    time.sleep(0.3)
    progress("载入内置法规", 1, 27)
    time.sleep(0.3)
    progress("载入内置法规", 3, 27)
    text = out.getvalue().replace("\r", "\n")
    assert "载入内置法规：3/27" in text
    # The rate is about 5 份 per second, not the 131072 it/s of a bar created after the first step.
    rates = [float(r) for r in re.findall(r"([\d.]+)份/s", text)]
    assert rates and all(r < 20 for r in rates), text
    progress("载入内置法规", 27, 27)
    assert "27/27" in out.getvalue()
