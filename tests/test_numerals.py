"""Chinese numerals and article references as used in statutes."""
from __future__ import annotations

import pytest

from knowledge.numerals import cn_to_int, format_article, int_to_cn, parse_article_ref


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一百零一", 101), ("二十", 20), ("十", 10), ("43", 43), ("四十三", 43), ("一千零二", 1002),
        ("十五", 15), ("一百一十", 110), ("一百三十四", 134), ("两百", 200), ("一千零一十", 1010),
        ("二〇二一", 2021), ("零", 0), ("４３", 43), ("一万零五", 10005), ("一千零十", 1010),
    ],
)
def test_cn_to_int(text: str, value: int) -> None:
    assert cn_to_int(text) == value


@pytest.mark.parametrize("bad", ["", "abc", "十百", "一二十", "第十", "3十"])
def test_cn_to_int_rejects_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        cn_to_int(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1, "一"), (10, "十"), (11, "十一"), (20, "二十"), (21, "二十一"), (100, "一百"), (101, "一百零一"),
     (110, "一百一十"), (119, "一百一十九"), (134, "一百三十四"), (1000, "一千"), (1002, "一千零二"),
     (1010, "一千零一十"), (10010, "一万零一十")],
)
def test_int_to_cn_statute_style(value: int, text: str) -> None:
    assert int_to_cn(value) == text


def test_round_trip_over_statute_range() -> None:
    for n in range(1, 2001):
        assert cn_to_int(int_to_cn(n)) == n


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("第四十三条", (43, 0)), ("第43条", (43, 0)), ("43", (43, 0)), ("第一百三十四条之一", (134, 1)),
        ("第四十三條", (43, 0)), (" 第 43 条 ", (43, 0)), ("第一百二十条之六", (120, 6)), ("134条之一", (134, 1)),
        ("第十条", (10, 0)),
    ],
)
def test_parse_article_ref(ref: str, expected: tuple[int, int]) -> None:
    assert parse_article_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "第条", "第四十三章", "安全生产法", "第零条", "四十三款"])
def test_parse_article_ref_rejects_non_articles(ref: str) -> None:
    assert parse_article_ref(ref) is None


def test_format_article() -> None:
    assert format_article(134, 1) == "第一百三十四条之一"
    assert format_article(43) == "第四十三条"
    assert format_article(10) == "第十条"
    # Formatting and parsing agree, so stored labels can be looked up again.
    for no, sub in [(1, 0), (119, 0), (120, 6), (139, 1)]:
        assert parse_article_ref(format_article(no, sub)) == (no, sub)
