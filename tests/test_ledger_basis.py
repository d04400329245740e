"""The 'possible 重大事故隐患' heuristic and the ranking chart (no database needed)."""
import warnings
from datetime import date

import pytest

from knowledge.ledger.basis import flag_major_hazard
from knowledge.ledger.chart import cjk_font, draw_ranking, packaged_font_file
from knowledge.ledger.views import StatsReport, StatsRow


@pytest.mark.parametrize("text,pattern", [
    ("3号采煤工作面瓦斯超限仍组织作业", "瓦斯超限"),
    ("矿井通风系统不完善，局部通风机无备用", "通风系统"),
    ("存在越界开采行为", "超层越界开采"),
    ("商场疏散通道被货架堵塞", "疏散通道"),
    ("餐馆在地下室使用液化石油气钢瓶", "燃气地下室"),
    ("铝粉打磨车间除尘系统未设置泄爆装置", "粉尘涉爆"),
    ("污水池有限空间作业未审批未检测", "有限空间"),
    ("深基坑开挖未编制专项方案", "深基坑高支模"),
    ("厂内起重机超期未检验仍在使用", "特种设备超期"),
    ("瓦斯超限作業", "瓦斯超限"),  # Traditional characters are normalised first
])
def test_flags_descriptions_matching_major_hazard_wording(text, pattern):
    assert pattern in {f.pattern for f in flag_major_hazard(text)}


@pytest.mark.parametrize("text", [
    "办公室插线板串接使用", "灭火器压力不足一具", "员工未佩戴安全帽", "楼道照明灯损坏",
])
def test_ordinary_descriptions_are_not_flagged(text):
    assert flag_major_hazard(text) == []


def test_coal_mine_flags_cite_the_bundled_regulation():
    (flag,) = flag_major_hazard("井下瓦斯超限作业")
    assert (flag.document, flag.article) == ("煤矿安全生产条例", "第三十六条")
    assert flag.excerpt == "（二）瓦斯超限作业的"


def _report() -> StatsReport:
    rows = [StatsRow(2, "甲区", total=4, closed=3, closed_on_time=2, closed_late=1, open=1, overdue=1, rank=1),
            StatsRow(3, "乙区", total=2, open=2, rank=2), StatsRow(4, "丙区")]
    return StatsReport("示例市", date(2026, 3, 1), date(2026, 3, 31), date(2026, 3, 31), rows,
                       StatsRow(1, "示例市合计", total=6))


@pytest.mark.parametrize("font", ["auto", None])
def test_chart_is_drawn_with_or_without_a_cjk_font(tmp_path, font):
    path = draw_ranking(_report(), tmp_path / f"rank-{font}.png", font=font)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def _draw_collecting_warnings(path, font):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw_ranking(_report(), path, font=font)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_chinese_unit_names_render_with_the_packaged_font(tmp_path):
    assert packaged_font_file() is not None, "pylopdf-fonts-zh-cn is a dependency: run scripts/setup.sh"
    assert cjk_font() == "Noto Sans SC"
    assert _draw_collecting_warnings(tmp_path / "zh.png", "auto") == []


def test_missing_glyphs_would_be_noticed(tmp_path):
    """The check above can fail: a Latin-only font warns about every Chinese character."""
    missing = _draw_collecting_warnings(tmp_path / "latin.png", "DejaVu Sans")
    assert any("CJK UNIFIED IDEOGRAPH-7532" in m for m in missing)  # 甲
