"""Progress bars for long terminal operations (first-run loading, bulk ingest)."""
from __future__ import annotations

import sys

from tqdm import tqdm


class TerminalProgress:
    """A ``(stage, done, total)`` callback drawing one tqdm bar per stage on stderr."""

    def __init__(self) -> None:
        self._bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self._bars.get(stage)
        if bar is None:
            bar = self._bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, leave=True,
                                           disable=not sys.stderr.isatty() and total < 2)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
