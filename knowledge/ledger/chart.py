"""The ranking chart of the monthly 通报 (matplotlib, Agg, no display needed).

Chinese labels need a CJK font. The project depends on ``pylopdf-fonts-zh-cn`` (Noto Sans SC,
SIL OFL), so every installation has one; matplotlib is given that file explicitly rather than
trusting whatever fonts the machine happens to have. A system CJK font is the fallback; without
any, the chart is still drawn with unit numbers and Latin labels.
"""
from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib import pyplot as plt

from knowledge.ledger.views import StatsReport

# A PyPI package that ships a Simplified Chinese font, and the function that returns its file.
FONT_PACKAGE = ("pylopdf_fonts_zh_cn", "sans_path")
SYSTEM_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                    "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")


def packaged_font_file() -> Path | None:
    module, function = FONT_PACKAGE
    try:
        path = Path(getattr(importlib.import_module(module), function)())
    except (ImportError, AttributeError):
        return None
    return path if path.is_file() else None


@cache
def cjk_font() -> str | None:
    """The family name of a CJK font registered with matplotlib: the packaged one, else a system one."""
    path = packaged_font_file()
    if path is not None:
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    available = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in SYSTEM_CJK_FONTS if name in available), None)


def draw_ranking(report: StatsReport, path: Path, font: str | None = "auto") -> Path:
    """A horizontal bar chart of 整改率 and 逾期率 per unit, best-ranked at the top."""
    font = cjk_font() if font == "auto" else font
    rows = [r for r in report.rows if r.total]
    labels = [r.unit if font else f"#{r.rank} (id {r.unit_id})" for r in rows]
    rect = [100 * (r.rectification_rate or 0) for r in rows]
    over = [100 * (r.overdue_rate or 0) for r in rows]
    # Sized for a phone: read at screen width (about 6 inches of figure), so large type and few words.
    height = max(3.0, 0.6 * len(rows) + 1.6)
    rc: dict[str, Any] = {"font.size": 12, "axes.unicode_minus": False}
    if font:
        rc["font.sans-serif"] = [font, "DejaVu Sans"]
    with plt.rc_context(rc):  # type: ignore[arg-type]
        fig, ax = plt.subplots(figsize=(6.4, height), dpi=150)
        try:
            y = list(range(len(rows)))[::-1]
            ax.barh([v + 0.2 for v in y], rect, height=0.4, color="#2e7d32",
                    label="整改率" if font else "Rectified %")
            ax.barh([v - 0.2 for v in y], over, height=0.4, color="#c62828",
                    label="逾期率" if font else "Overdue %")
            ax.set_yticks(y, labels)
            ax.set_xlim(0, 112)
            ax.set_xticks([0, 25, 50, 75, 100])
            ax.spines[["top", "right"]].set_visible(False)
            for v, a, b in zip(y, rect, over):
                ax.text(a + 1, v + 0.2, f"{a:.0f}%", va="center", fontsize=11)
                ax.text(b + 1, v - 0.2, f"{b:.0f}%", va="center", fontsize=11)
            period = f"{report.start.isoformat()} ~ {report.end.isoformat()}"
            ax.set_title(f"{report.unit} 隐患整改排名\n{period}" if font else f"Ranking {period}", fontsize=13)
            if rows:
                ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
            else:
                ax.text(50, 0, "本期无隐患" if font else "no items", ha="center")
            fig.tight_layout()
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path)
        finally:
            plt.close(fig)
    return path
