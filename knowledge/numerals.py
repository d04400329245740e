"""Chinese numerals as used in statute article numbers (第一百三十四条之一).

Only the range statutes actually use matters (below 10 000), but the parser accepts
any well-formed number below 10^8 so a typo does not silently map to a wrong article.
"""
from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "貳": 2, "两": 2, "兩": 2,
           "三": 3, "叁": 3, "參": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "陸": 6,
           "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_MYRIAD = {"万": 10_000, "萬": 10_000}
_CN_CHARS = "".join(_DIGITS) + "".join(_UNITS) + "".join(_MYRIAD)
_SMALL = "零一二三四五六七八九"

# Full-width digits are folded first so "第４３条" works like "第43条".
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

NUMERAL_CLASS = f"[0-9０-９{_CN_CHARS}]+"
_ARTICLE_REF = re.compile(
    rf"^\s*第?\s*(?P<no>{NUMERAL_CLASS})\s*(?:[条條]\s*(?:之\s*(?P<sub>{NUMERAL_CLASS}))?)?\s*$"
)


def cn_to_int(s: str) -> int:
    """Parse an Arabic or Chinese numeral ("一百零一", "十", "43", "四十三") into an int.

    Raises ValueError for anything that is not a well-formed number.
    """
    text = s.strip().translate(_FULLWIDTH_DIGITS)
    if not text:
        raise ValueError("empty numeral")
    if text.isdigit() and text.isascii():
        return int(text)
    if any(ch not in _CN_CHARS for ch in text):
        raise ValueError(f"not a Chinese numeral: {s!r}")
    # Digit-by-digit form ("二〇二一") has no unit characters at all.
    if all(ch in _DIGITS for ch in text):
        if len(text) == 1:
            return _DIGITS[text]
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total = 0          # completed 万 groups
    section = 0        # value below 万 accumulated so far
    digit: int | None = None
    last_unit = 10**9  # units must strictly decrease inside a section
    for ch in text:
        if ch in _DIGITS:
            if digit is not None and _DIGITS[ch] != 0 and digit != 0:
                raise ValueError(f"two digits in a row: {s!r}")
            digit = _DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            if unit >= last_unit:
                raise ValueError(f"misordered units: {s!r}")
            # A bare unit means one of it: "十三" = 13, colloquial "一千零十" = 1010.
            section += (digit or 1) * unit
            digit = None
            last_unit = unit
        else:  # 万
            if digit:
                section += digit
            digit = None
            if section == 0 or total:
                raise ValueError(f"misplaced 万: {s!r}")
            total = section * _MYRIAD[ch]
            section = 0
            last_unit = 10**9
    if digit:
        section += digit
    return total + section


def int_to_cn(n: int) -> str:
    """Statute-style Chinese numeral: 10→"十", 21→"二十一", 101→"一百零一", 110→"一百一十"."""
    if n < 0:
        raise ValueError("negative numbers have no statute form")
    if n == 0:
        return "零"
    if n >= 100_000_000:
        raise ValueError("number too large")
    if n >= 10_000:
        high, low = divmod(n, 10_000)
        if low == 0:
            return int_to_cn(high) + "万"
        return int_to_cn(high) + "万" + ("零" if low < 1000 else "") + _below_myriad(low, leading=False)
    return _below_myriad(n, leading=True)


def _below_myriad(n: int, *, leading: bool) -> str:
    parts: list[str] = []
    pending_zero = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, unit)
        if d == 0:
            if parts:
                pending_zero = True
            continue
        if pending_zero:
            parts.append("零")
            pending_zero = False
        # 10-19 at the start of a number read "十…", not "一十…" (第十条, 第十一条).
        if unit == 10 and d == 1 and not parts and leading:
            parts.append("十")
        else:
            parts.append(_SMALL[d] + name)
    return "".join(parts)


def parse_article_ref(s: str) -> tuple[int, int] | None:
    """"第四十三条" / "第43条" / "43" / "第一百三十四条之一" / "第四十三條" → (number, sub).

    Returns None when ``s`` is not an article reference.
    """
    m = _ARTICLE_REF.match(s)
    if not m:
        return None
    try:
        no = cn_to_int(m.group("no"))
        sub = cn_to_int(m.group("sub")) if m.group("sub") else 0
    except ValueError:
        return None
    if no <= 0:
        return None
    return no, sub


def format_article(no: int, sub: int = 0) -> str:
    """(134, 1) → "第一百三十四条之一"."""
    label = f"第{int_to_cn(no)}条"
    return f"{label}之{int_to_cn(sub)}" if sub else label
