"""Cleaning of extracted text: pinyin annotations, web boilerplate, garbled passages.

The stored passage keeps the original wording (查看原文 shows it); the index form
(``index_text``) and the reading form (``readable``, used for excerpts and quotes) are derived
from it: pinyin stripped, garbled runs repaired or cut, Simplified.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
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


def pinyin_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the inline pinyin annotations of ``text`` (NFC), which must not be cut."""
    return [m.span() for m in _ANNOTATION.finditer(text) if _is_pinyin(m.group(1))]


def reading_length(text: str) -> int:
    """Length of ``text`` as read, without its pinyin annotations."""
    if "(" not in text and "（" not in text:
        return len(text)
    return len(strip_pinyin(text))


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


# Kinds of removed lines, as reported to the admin who loaded the document.
BOILERPLATE_KINDS = {
    "nav": "导航与菜单", "meta": "信息栏（分类/作者/来源/时间/访问量）", "label": "栏目标签", "preamble": "转载导语",
    "paywall": "付费或隐藏内容提示", "editor": "编辑署名", "footer": "版权与联系方式", "headline": "重复的标题",
    "page": "页码",
}
_FOOTER_MARKERS = ("版权所有", "版權所有", "copyright", "©", "icp备", "icp備", "icp证", "公网安备", "公網安備")
_META_LABEL = re.compile(
    r"(?:分[类類]|作者|[来來]源|信息[来來]源|文章[来來]源|[发發][布佈](?:[时時][间間]|日期|机构|機構)|日期|[时時][间間]"
    r"|[访訪][问問]量|[浏瀏][览覽](?:次[数數]|量)|[阅閱][读讀](?:次[数數]|量)|[点點][击擊](?:数|數|量|率)|字[号號]"
    # The 政府信息公开 table of a notice (索引号 / 主题分类 / 发文机关 / 成文日期 / 文号).
    r"|索引[号號]|主[题題]分[类類]|[发發]文机[关關]|[发發]文[机機][关關]|文[号號])\s*[:：]"
)
_SUMMARY_LABEL = re.compile(r"^【(?:概要描述|摘要|内容摘要|內容摘要|导读|導讀)】")
_EDITOR = re.compile(
    r"^(?:[一二三]审|[一二三]審|初[审審]|[复復][审審]|终[审審]|終審|[审審]核|[编編][辑輯]|[责責][编編]|校[对對]|[监監]制|[统統][筹籌]"
    r"|[责責]任[编編][辑輯]|[摄攝]影|[记記]者|通[讯訊][员員])\s*[:：]"
)
_PREAMBLE = re.compile(
    r"小[编編]|[为為]大家(?:整理|收集|精心|分享|准[备備]|提供)|供大家[参參][考阅閱]|[欢歡]迎[阅閱][读讀]|希望[对對](?:大家|您)有"
    r"|本文(?:由|来自|來自)|[转轉]自|[转轉][载載]自|以下是.{0,20}(?:范文|全文|内容)"
)
_PAYWALL = re.compile(
    r"[隐隱]藏内容|[隐隱]藏內容|免[费費][查阅閱][看读讀]?|[点點][击擊]查看全文|展[开開]全文|[阅閱][读讀]全文|付[费費][阅閱][读讀]"
    r"|[开開]通(?:会员|會員|VIP)|下[载載]全文|[剩余餘].{0,6}未[读讀]|[登注]册后查看|[购購][买買]后"
)
_CONTACT = re.compile(r"地址|[邮郵][编編]|[电電]话|[传傳]真|e-?mail|tel\b|[邮郵]箱|[联聯]系方式|客服", re.IGNORECASE)
_SOCIAL = re.compile(r"微信公[众眾][号號]|[关關]注我[们們]|官方微博|微信[扫掃]一[扫掃]|抖音[号號]|[视視][频頻][号號]")
_CHANNEL_SUFFIX = re.compile(r"(?:要[闻聞]|新[闻聞]|[动動]态|聚焦|公[开開]|服[务務]|[园園]地|[专專]栏|之窗|[资資]讯|[时時][评評]|[专專][题題]|[视視][频頻])$")
_LATIN_LABEL = re.compile(r"^[A-Za-z][A-Za-z &'\-]{1,38}$")
_HAN_ONLY = re.compile(f"^[{HAN}]+$")


def boilerplate_kind(line: str) -> str | None:
    """The kind of site chrome a line is (see BOILERPLATE_KINDS), or None for content."""
    if not line or _STRUCTURAL.match(line):
        return None
    if line in _NAV_WORDS:
        return "nav"
    if _PAGE_FOOTER.match(line):
        return "page"
    if _SUMMARY_LABEL.match(line):
        return "meta"
    short = len(line) <= 120 and "。" not in line
    if len(line) <= 120 and _PREAMBLE.search(line):
        return "preamble"
    if len(line) <= 60 and _PAYWALL.search(line):
        return "paywall"
    # Sentences are content even when they mention e.g. "分享到" or "版权所有"; site chrome
    # is made of labels and fragments, not sentences ending in "。".
    if line.rstrip("”’」』）) ").endswith("。") and len(line) > 30:
        return None
    low = line.lower()
    if _EDITOR.match(line) or (short and len(re.findall(r"[一二三][审審]\s*[:：]", line)) >= 2):
        return "editor"
    if any(marker in low for marker in _FOOTER_MARKERS):
        return "footer"
    if short and len(_CONTACT.findall(line)) >= 2 and re.search(r"[:：]", line):
        return "footer"
    if len(line) <= 40 and _SOCIAL.search(line):
        return "footer"
    if short and _META_LABEL.search(line) and (len(_META_LABEL.findall(line)) >= 2 or len(line) <= 40):
        return "meta"
    if any(marker in low for marker in _CHROME_MARKERS):
        return "footer" if re.search(r"主[办辦]|承[办辦]|技[术術]支持", line) else "nav"
    if _LABEL_MARKERS.search(line):
        return "footer" if re.search(r"主[办辦]|承[办辦]|技[术術]支持|[标標][识識]", line) else (
            "editor" if re.search(r"[编編][辑輯]", line) else "nav")
    if _BROWSER_HINT.search(line):
        return "footer"
    parts = [p for p in _BREADCRUMB_SEP.split(line) if p]
    if len(parts) >= 2 and parts[0] in ("首页", "首頁", "网站首页", "主页"):
        return "nav"
    if (len(parts) >= 3 and re.search(r">|»|＞|›", line)
            and all(len(p) <= 12 and not re.search(r"[。，；,]", p) for p in parts)):
        return "nav"
    if any(ch in line for ch in "。，；,\t"):
        return None
    if _LATIN_LABEL.match(line) and len(line.split()) <= 4:
        return "label"
    # A menu bar: short items between pipes or bullets ("首页 | 机构概况 | 新闻中心 | …"),
    # or, when only spaces separate them, known menu words or channel names (岳阳要闻 综合新闻 …);
    # a table row is not a menu.
    items = [p for p in _NAV_PIPE.split(line) if p]
    if len(items) >= 4 and not line.startswith("|") and all(len(p) <= 8 for p in items):
        return "nav"
    if len(items) >= 3 and not line.startswith("|") and any(p in _NAV_WORDS for p in items):
        return "nav"
    words = line.split()
    if len(words) >= 3 and sum(w in _NAV_WORDS for w in words) * 2 >= len(words):
        return "nav"
    if (len(words) >= 3 and all(_HAN_ONLY.match(w) and 2 <= len(w) <= 6 for w in words)
            and (len(words) >= 4 or any(_CHANNEL_SUFFIX.search(w) for w in words))):
        return "nav"
    return None


@dataclass
class PageCleaning:
    """A document body without site chrome, with what the chrome said about the document."""
    text: str
    removed: Counter[str] = field(default_factory=Counter)  # kind → lines removed
    headline: str | None = None
    published: date | None = None  # the 发布时间 of the 信息栏
    source: str | None = None  # the 来源 / 发布机构 of the 信息栏

    def summary(self) -> str:
        return "，".join(f"{BOILERPLATE_KINDS[k]} {n} 行" for k, n in self.removed.most_common())


_META_SOURCE = re.compile(r"(?:信息|文章)?[来來]源\s*[:：]\s*([^\s:：|｜]{2,30})|[发發][布佈]机构\s*[:：]\s*([^\s:：|｜]{2,30})")
_META_DATE = re.compile(r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")


def strip_boilerplate(text: str) -> PageCleaning:
    """Drop navigation, 信息栏, repost preambles, paywall lines, sign-offs, footers, running
    headers and repeats of the headline; keep the headline once and what the 信息栏 says."""
    lines = text.splitlines()
    stripped = [ln.strip() for ln in lines]
    result = PageCleaning("")
    kinds = [boilerplate_kind(s) for s in stripped]
    # A Chinese column label followed by its English translation (黨群園地 / Party field).
    for i, kind in enumerate(kinds):
        if kind == "label":
            for j in (i - 1, i + 1):
                if 0 <= j < len(stripped) and kinds[j] is None and _HAN_ONLY.match(stripped[j] or "x") \
                        and len(stripped[j]) <= 8:
                    kinds[j] = "label"
    for s, kind in zip(stripped, kinds, strict=True):
        if kind == "meta":
            source = _META_SOURCE.search(s)
            if source and result.source is None:
                result.source = (source.group(1) or source.group(2)).strip()
            date_m = _META_DATE.search(s)
            if date_m and result.published is None:
                try:
                    result.published = date(int(date_m.group(1)), int(date_m.group(2)), int(date_m.group(3)))
                except ValueError:
                    pass
    headline = _headline(stripped, kinds)
    result.headline = headline
    # A short non-structural line that recurs is a running header/footer (PDF pages,
    # repeated site banners); its first occurrence may be the real title, so keep that.
    counts = Counter(s for s in stripped
                     if 4 <= len(s) <= 40 and "\t" not in s and not _STRUCTURAL.match(s))
    seen: set[str] = set()
    out: list[str] = []
    for line, s, kind in zip(lines, stripped, kinds, strict=True):
        if kind is not None:
            result.removed[kind] += 1
            continue
        if headline and s and _same_headline(s, headline):
            if headline in seen:
                result.removed["headline"] += 1
                continue
            seen.add(headline)
        elif s and counts.get(s, 0) >= 3:
            if s in seen:
                result.removed["headline" if s == headline else "nav"] += 1
                continue
            seen.add(s)
        out.append(line)
    result.text = "\n".join(out)
    return result


def _same_headline(line: str, headline: str) -> bool:
    return line == headline or line.lstrip("#").strip() == headline


def _headline(stripped: list[str], kinds: list[str | None]) -> str | None:
    """The page's headline: a title-like content line that the page repeats (in the 概要描述,
    or as a second heading), else the first title-like content line."""
    content = [s.lstrip("#").strip() for s, k in zip(stripped, kinds, strict=True) if k is None and s]
    # Only the opening lines of a page can be its headline; a repeated "…如下：" later is not.
    candidates = [s for s in content[:6]
                  if len(s) <= 80 and not re.search(r"[。；！？：:，,]$", s) and not _STRUCTURAL.match(s or "x")]
    for c in candidates:
        # A repeat is the same line again, or chrome quoting it (【概要描述】…); a signature
        # line ("长兴县安委办") that merely occurs inside the real headline is not one.
        repeats = sum(1 for s, k in zip(stripped, kinds, strict=True)
                      if s.lstrip("#").strip() == c or (k is not None and c in s))
        if len(c) >= 6 and repeats >= 2:
            return c
    return None


def remove_boilerplate(text: str) -> str:
    """Drop navigation, footers, share/print widgets and running headers; keep content lines."""
    return strip_boilerplate(text).text


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
    """The form that gets embedded and BM25-indexed: no pinyin, no garbled runs (repaired where
    reversible), Simplified, normalised."""
    from knowledge.garbled import clean_runs  # garbled builds on this module's character tables

    return normalize(clean_runs(strip_pinyin(text), placeholder=" ")[0])


SKIPPED = "…"


@lru_cache(maxsize=16384)  # as many as index.answer keeps segmented
def readable(text: str) -> str:
    """What users read of a passage: no pinyin, garbled runs repaired or replaced by "…",
    Simplified (the chat is Simplified Chinese). The untouched original stays in the database."""
    from knowledge.garbled import clean_runs

    cleaned = clean_runs(strip_pinyin(text), placeholder=SKIPPED)[0]
    return to_simplified(_LOST_BETWEEN_HAN.sub(LOST_CHAR, cleaned))


# A single "?" between Chinese characters is a character lost in a code-page conversion (a
# quotation mark, or a word's character); "□" is how Chinese print marks an illegible character.
LOST_CHAR = "□"
_LOST_BETWEEN_HAN = re.compile(
    rf"(?<=[{HAN}，、])(?<![吗呢吧么啊呀嘛谁哪几样何少久])\?(?=[{HAN}“”])|(?<=[{HAN}])(?<![吗呢吧么啊呀嘛谁哪几样何少久])\?(?=[，。、；])"
)
