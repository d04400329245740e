"""Cleaning of extracted text: pinyin annotations, web boilerplate, garbled passages.

Display text keeps the original wording; only the index form (``index_text``) is
stripped of pinyin and normalised, so citations quote what the document really says.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from knowledge.textnorm import normalize, to_simplified

HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_CHAR = re.compile(f"[{HAN}]")

# ---------------------------------------------------------------- pinyin

_TONE_MARKED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_TONE_BASE = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ", "aaaaeeeeiiiioooouuuuüüüünnnm")
_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|üan|van|ai|ei|ao|ou|an|en|er"
    r"|ia|ie|iu|in|ua|uo|ui|un|üe|ve|ue|ün|vn|a|o|e|i|u|ü|v|ng|n|m)"
    r"[1-5]?"
)
_PINYIN_LETTERS = f"a-zA-Zü{_TONE_MARKED}{_TONE_MARKED.upper()}Ü"
# A parenthesised run of letters (and tone digits) right after a Han character; whether it
# really is pinyin is decided in _pinyin_or_keep so "(CO)" or "(GB 50016)" survive.
_ANNOTATION = re.compile(
    rf"(?<=[{HAN}])[ \t]?[(（]\s*([{_PINYIN_LETTERS}1-5]+(?:[\s'’·\-]+[{_PINYIN_LETTERS}1-5]+)*)\s*[)）]"
    rf"(?:[ \t](?=[{HAN}]))?"
)


def _is_pinyin(annotation: str) -> bool:
    tokens = [t for t in re.split(r"[\s'’·\-]+", annotation) if t]
    if not tokens or len(tokens) > 8:
        return False
    tone_marked = any(ch in _TONE_MARKED for ch in annotation.lower())
    for token in tokens:
        plain = token.lower().translate(_TONE_BASE)
        # Pinyin in running text is lower case except at a sentence or name start.
        if token[1:] != token[1:].lower():
            return False
        if not tone_marked and not plain[-1].isdigit():
            # Tone-less text in brackets is ambiguous ("(ok)"): accept only lower-case,
            # multi-letter syllables.
            if token != token.lower() or len(plain) < 2:
                return False
        if not _syllables(plain):
            return False
    return True


def _syllables(word: str) -> bool:
    """True when ``word`` is a concatenation of pinyin syllables ("anquan", "sheng1chan3")."""
    reachable = [False] * (len(word) + 1)
    reachable[0] = True
    for start in range(len(word)):
        if not reachable[start]:
            continue
        for end in range(start + 1, min(len(word), start + 7) + 1):
            if _SYLLABLE.fullmatch(word, start, end):
                reachable[end] = True
    return reachable[-1]


def _pinyin_or_keep(m: re.Match[str]) -> str:
    return "" if _is_pinyin(m.group(1)) else m.group(0)


def strip_pinyin(text: str) -> str:
    """Remove inline pinyin: "安(ān)全生產(chǎn)" → "安全生產"; numbered and tone-less too."""
    text = unicodedata.normalize("NFC", text)
    return _ANNOTATION.sub(_pinyin_or_keep, text)


# ---------------------------------------------------------------- boilerplate

# Phrases that only occur in site chrome. Those in _LABEL_MARKERS are labels ("技术支持：")
# and count only when followed by a colon, since statutes say "提供技术支持和服务".
_CHROME_MARKERS = (
    "版权所有", "版權所有", "copyright", "©", "icp备", "icp備", "icp证", "公网安备", "公網安備",
    "扫一扫", "掃一掃", "打印本页", "打印本頁", "关闭窗口", "關閉窗口", "【打印】", "【关闭】", "【關閉】",
    "返回顶部", "返回頂部", "设为首页", "設為首頁", "加入收藏", "网站地图", "網站地圖", "上一篇", "下一篇",
    "在手机打开", "在手機打開", "相关热词", "相關熱詞",
)
_LABEL_MARKERS = re.compile(
    r"(?:主办单位|主辦單位|承办单位|承辦單位|技术支持|技術支持|责任编辑|責任編輯|网站标识码|網站標識碼|字号|字號"
    r"|字体|字體|当前位置|當前位置|您的位置|您现在的位置|您現在的位置|分享到|浏览次数|瀏覽次數|阅读次数|閱讀次數"
    r"|点击数|點擊數|访问量|訪問量|浏览量|瀏覽量)\s*[:：]"
)
_BROWSER_HINT = re.compile(r"建议使用.{0,20}浏览器|分辨率.{0,10}\d{3,4}\s*[x×*]\s*\d{3,4}")
_NAV_WORDS = frozenset({
    "首页", "首頁", "网站首页", "返回首页", "返回", "更多", "更多>>", "登录", "注册", "搜索", "无障碍",
    "长者模式", "English", "繁体", "简体", "繁體", "簡體", "打印", "关闭", "收藏", "分享", "相关链接",
    "相关新闻", "相关阅读", "政务公开", "新闻中心", "办事服务", "互动交流", "机构概况",
})
_BREADCRUMB_SEP = re.compile(r"\s*(?:>>|>|»|＞|›|→|/)\s*")
_NAV_PIPE = re.compile(r"\s*[|｜丨•·]\s*")
_PAGE_FOOTER = re.compile(
    r"^(?:[-—–]\s*\d{1,4}\s*[-—–]|第\s*\d{1,4}\s*页(?:\s*[/，,]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$",
    re.IGNORECASE,
)
_STRUCTURAL = re.compile(
    r"^(?:#|第[0-9一二三四五六七八九十百千零〇两]+[编章节条條款项目]|[（(]?[一二三四五六七八九十]+[、)）])"
)
_SENTENCE_END = "。！？!?；;"


def _is_boilerplate_line(line: str) -> bool:
    if not line or _STRUCTURAL.match(line):
        return False
    if line in _NAV_WORDS or _PAGE_FOOTER.match(line):
        return True
    # Sentences are content even when they mention e.g. "分享到" or "版权所有"; site chrome
    # is made of labels and fragments, not sentences ending in "。".
    if line.rstrip("”’」』）) ").endswith("。") and len(line) > 30:
        return False
    low = line.lower()
    if any(marker in low for marker in _CHROME_MARKERS):
        return True
    if _LABEL_MARKERS.search(line) or _BROWSER_HINT.search(line):
        return True
    parts = [p for p in _BREADCRUMB_SEP.split(line) if p]
    if len(parts) >= 2 and parts[0] in ("首页", "首頁", "网站首页", "主页"):
        return True
    if any(ch in line for ch in "。，；,\t"):
        return False
    # A menu bar: short items between pipes or bullets ("首页 | 机构概况 | 新闻中心 | …"),
    # or, when only spaces separate them, mostly known menu words (a table row is not a menu).
    items = [p for p in _NAV_PIPE.split(line) if p]
    if len(items) >= 4 and not line.startswith("|") and all(len(p) <= 8 for p in items):
        return True
    words = line.split()
    return len(words) >= 3 and sum(w in _NAV_WORDS for w in words) * 2 >= len(words)


def remove_boilerplate(text: str) -> str:
    """Drop navigation, footers, share/print widgets and running headers; keep content lines."""
    lines = text.splitlines()
    stripped = [ln.strip() for ln in lines]
    # A short non-structural line that recurs is a running header/footer (PDF pages,
    # repeated site banners); its first occurrence may be the real title, so keep that.
    counts = Counter(s for s in stripped
                     if 4 <= len(s) <= 40 and "\t" not in s and not _STRUCTURAL.match(s))
    seen: set[str] = set()
    out: list[str] = []
    for line, s in zip(lines, stripped, strict=True):
        if _is_boilerplate_line(s):
            continue
        if s and counts.get(s, 0) >= 3:
            if s in seen:
                continue
            seen.add(s)
        out.append(line)
    return "\n".join(out)


# ---------------------------------------------------------------- garbled text

@lru_cache(maxsize=1)
def common_chars() -> frozenset[str]:
    """The 3,755 level-1 characters of GB 2312 plus their Traditional forms, which together
    cover ~99.9% of running Chinese text.

    Mojibake from UTF-8 bytes read as GBK can never produce level-1 characters (UTF-8
    lead bytes 0xE4–0xE9 fall in GB 2312's rare level-2 rows or in GBK extensions), which
    makes the share of other characters a sharp signal.
    """
    level1 = set()
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                level1.add(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    # One conversion of the whole block, one character per line so no phrase rules apply.
    han = [chr(c) for c in range(0x4E00, 0xA000)]
    simplified = to_simplified("\n".join(han)).split("\n")
    if len(simplified) != len(han):  # a converter that merged lines: fall back to level 1 only
        return frozenset(level1)
    traditional = {t for t, s in zip(han, simplified, strict=True) if len(s) == 1 and s in level1}
    return frozenset(level1 | traditional)


# A UTF-8 lead byte read as Latin-1/Windows-1252 (Ã…ï) followed by continuation bytes,
# which that code page shows as symbols and accented letters (‡ƒ”…).
_CP1252_CONTINUATION = (
    r"\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    r"\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_LATIN1_MOJIBAKE = re.compile(rf"(?:[\u00c2-\u00ef][{_CP1252_CONTINUATION}]{{1,2}})+")
_QUESTION_PARTICLES = frozenset("吗呢吧么啊呀嘛")


def _is_han_or_tone(ch: str) -> bool:
    return bool(ch) and (bool(_HAN_CHAR.match(ch)) or ch in _TONE_MARKED)


def _lost_chars(text: str) -> int:
    """Characters lost in a lossy conversion: U+FFFD, and "?" inside Chinese or pinyin
    (燃?xì)?); a question mark ending a question or inside a URL is not counted."""
    lost = 0
    for m in re.finditer(r"\?+|\ufffd+", text):
        run = m.group(0)
        if run[0] == "\ufffd" or len(run) >= 3:
            lost += len(run)
            continue
        prev = text[m.start() - 1] if m.start() else ""
        nxt = text[m.end()] if m.end() < len(text) else ""
        if prev in _QUESTION_PARTICLES:
            continue
        if prev in _TONE_MARKED or nxt in _TONE_MARKED:
            lost += len(run)
        elif (_is_han_or_tone(prev) or prev == ")") and (_is_han_or_tone(nxt) or nxt.isalpha() or nxt in "(（"):
            lost += len(run)
    return lost


_MEANINGFUL = re.compile(rf"[{HAN}A-Za-z0-9\u00c0-\u024f]")


def _signals(text: str) -> tuple[int, int, int, int]:
    """(lost characters, latin-1 mojibake characters, rare Han characters, Han characters)."""
    lost = _lost_chars(text)
    latin = 0
    for m in _LATIN1_MOJIBAKE.finditer(text):
        run = m.group(0)
        try:
            # Only count runs that really are UTF-8 read as Windows-1252/Latin-1.
            run.encode("cp1252", errors="strict").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            try:
                run.encode("latin-1").decode("utf-8", errors="strict")
            except (UnicodeEncodeError, UnicodeDecodeError):
                if len(run) < 3:
                    continue
        latin += len(run)
    han = _HAN_CHAR.findall(text)
    common = common_chars()
    rare = sum(1 for ch in han if ch not in common)
    return lost, latin, rare, len(han)


def garble_score(text: str) -> float:
    """0 for clean text, towards 1 the larger the share of characters that look damaged."""
    meaningful = len(_MEANINGFUL.findall(text)) + text.count("?") + text.count("\ufffd")
    if meaningful == 0:
        return 0.0
    lost, latin, rare, han = _signals(text)
    # Isolated rare characters are normal (徇, 渎, 矸); they only count once they are a
    # noticeable share of the Han text, as in GBK-decoded UTF-8.
    rare_share = rare / han if han else 0.0
    rare_weight = rare if rare_share >= 0.1 else 0
    return min(1.0, (lost + latin + rare_weight) / meaningful)


def is_garbled(text: str) -> bool:
    """True when ``text`` should not be indexed: lost characters or mojibake."""
    lost, latin, rare, han = _signals(text)
    if lost >= 2 or "\ufffd" in text:
        return True
    if latin >= 4:
        return True
    if han >= 4 and rare >= 3 and rare / han >= 0.2:
        return True
    return garble_score(text) >= 0.15


def index_text(text: str) -> str:
    """The form that gets embedded and BM25-indexed: no pinyin, Simplified, normalised."""
    return normalize(strip_pinyin(text))
