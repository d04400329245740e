"""The ranking chart of the monthly 通报 (matplotlib, Agg, no display needed).

Chinese labels need a CJK font (Debian: ``fonts-wqy-microhei`` or ``fonts-noto-cjk``). Without
one the chart is still drawn, with unit numbers and Latin labels and a legend mapping numbers
to names in the text output.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib import pyplot as plt

from knowledge.ledger.views import StatsReport

CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
             "Source Han Sans SC", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")


def cjk_font() -> str | None:
    available = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in available:
            return name
    return None


def draw_ranking(report: StatsReport, path: Path, font: str | None = "auto") -> Path:
    """A horizontal bar chart of 整改率 and 逾期率 per unit, best-ranked at the top."""
    font = cjk_font() if font == "auto" else font
    rows = [r for r in report.rows if r.total]
    labels = [r.unit if font else f"#{r.rank} (id {r.unit_id})" for r in rows]
    rect = [100 * (r.rectification_rate or 0) for r in rows]
    over = [100 * (r.overdue_rate or 0) for r in rows]
    height = max(3.0, 0.45 * len(rows) + 1.5)
    rc: dict[str, Any] = {"font.sans-serif": [font, "DejaVu Sans"], "axes.unicode_minus": False} if font else {}
    with plt.rc_context(rc):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(9, height), dpi=120)
        try:
            y = list(range(len(rows)))[::-1]
            ax.barh([v + 0.2 for v in y], rect, height=0.4, color="#2e7d32",
                    label="整改率 %" if font else "Rectified %")
            ax.barh([v - 0.2 for v in y], over, height=0.4, color="#c62828",
                    label="逾期率 %" if font else "Overdue %")
            ax.set_yticks(y, labels)
            ax.set_xlim(0, 105)
            for v, a, b in zip(y, rect, over):
                ax.text(a + 1, v + 0.2, f"{a:.0f}", va="center", fontsize=8)
                ax.text(b + 1, v - 0.2, f"{b:.0f}", va="center", fontsize=8)
            period = f"{report.start.isoformat()} ~ {report.end.isoformat()}"
            ax.set_title(f"{report.unit} 隐患整改排名（{period}）" if font else f"Ranking {period}")
            ax.legend(loc="lower right")
            if not rows:
                ax.text(50, 0, "本期无隐患" if font else "no items", ha="center")
            fig.tight_layout()
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path)
        finally:
            plt.close(fig)
    return path
