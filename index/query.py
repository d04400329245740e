"""Query analysis: normalisation, document mentions, exact article references, expansion and typo repair.

Everything here is about the question, not the corpus contents, except for two lookups the
caller supplies: the loaded document titles (for mentions) and the keyword vocabulary (so that
typo repair only proposes words that actually occur in the texts).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from index.tokenize import DATA_DIR, Tokenizer
from knowledge.numerals import NUMERAL_CLASS, cn_to_int, format_article, parse_article_ref
from knowledge.textnorm import normalize

EXPANSION_WEIGHT = 0.5  # an expanded term counts half as much as a term the user typed
REGIONS = ("北京", "上海", "天津", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
           "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
           "甘肃", "青海", "内蒙古", "广西", "西藏", "宁夏", "新疆")

# Intent cues: which part of a statute tends to answer the question.
PENALTY_CUES = ("罚", "处罚", "法律责任", "追究", "吊销", "责令停产", "拘留", "判刑", "坐牢", "后果",
                "penalty", "fine", "punish")
DEFINITION_CUES = ("是什么意思", "什么意思", "含义", "指的是", "是指", "所称", "定义", "包括哪些", "what is", "mean")


# No statute has more articles than this; larger numbers (and 第零条) name no article at all and
# are answered "no such article" without a lookup (a 20-digit number overflows database integers).
MAX_ARTICLE_NO = 9999
_BOOK_TITLE = re.compile(r"《([^《》]{2,60})》")
_TITLE_SUFFIX = re.compile(r"[（(][^（）()]*[）)]$")  # 《安全生产法（2021年修正）》


@dataclass(frozen=True)
class ArticleRef:
    document: str
    article_no: int
    article_sub: int = 0

    @property
    def possible(self) -> bool:
        """Whether an article with this number could exist at all."""
        return 1 <= self.article_no <= MAX_ARTICLE_NO and 0 <= self.article_sub <= MAX_ARTICLE_NO

    @property
    def label(self) -> str:
        if self.article_no >= 100_000_000 or self.article_sub >= 100_000_000:
            return f"第{self.article_no}条" + (f"之{self.article_sub}" if self.article_sub else "")
        return format_article(self.article_no, self.article_sub)


@dataclass
class AnalyzedQuery:
    original: str
    normalized: str
    dense_text: str
    terms: dict[str, float]
    documents: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    reference: ArticleRef | None = None
    penalty: bool = False
    definition: bool = False
    corrections: dict[str, str] = field(default_factory=dict)
    domain: bool = False  # uses work-safety vocabulary (domain dictionary or glossary)
    # Titles the question names in 《》 that are not in the knowledge base (《火星矿山安全条例》).
    unknown_documents: list[str] = field(default_factory=list)


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        left, _, right = line.partition("\t")
        if right:
            rows.append((left.strip(), right.strip()))
    return rows


@lru_cache(maxsize=1)
def load_synonyms() -> tuple[tuple[str, tuple[str, ...]], ...]:
    pairs = [(normalize(a).lower(), tuple(b.split("|"))) for a, b in _read_tsv(DATA_DIR / "synonyms.tsv")]
    # Longest first so "应急管理局" wins over "应急局"-style shorter keys inside it.
    return tuple(sorted(pairs, key=lambda p: -len(p[0])))


@lru_cache(maxsize=1)
def load_domain_terms() -> frozenset[str]:
    words = (line.split(" ")[0] for line in (DATA_DIR / "userdict.txt").read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w)


@lru_cache(maxsize=1)
def load_aliases() -> tuple[tuple[str, str], ...]:
    return tuple(_read_tsv(DATA_DIR / "doc_aliases.tsv"))


def load_pinyin_tables() -> None:
    """Load what ``_pinyin_key`` needs now rather than at the first suspected typo."""
    _pinyin_key("安全")


@lru_cache(maxsize=4096)
def _pinyin_key(word: str) -> str:
    # pypinyin's phrase tables take a quarter of a second to import: only questions that look
    # mistyped need them.
    from pypinyin import lazy_pinyin

    return " ".join(lazy_pinyin(word))


class TypoRepair:
    """Homophone typos (电悌→电梯, 预按→预案): an unknown 2–4 character word whose pinyin equals that of
    a word in the corpus vocabulary, differing in exactly one character, is replaced by it."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._vocab = set()
        # Words by their text with one character masked: the words one character away from a
        # gram are found without computing the pinyin of the whole vocabulary at every start.
        self._by_mask: dict[str, list[str]] = {}
        for word in vocabulary:
            if 2 <= len(word) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in word):
                self._vocab.add(word)
                for i in range(len(word)):
                    self._by_mask.setdefault(_masked(word, i), []).append(word)

    def repair(self, text: str, segment: Callable[[str], list[str]]) -> dict[str, str]:
        """``segment`` is a dictionary-only word segmentation of ``text``: a typo breaks a word
        into single characters, so only runs of single-character tokens are examined."""
        fixes: dict[str, str] = {}
        run = ""
        for token in [*segment(text), ""]:
            if len(token) == 1 and "\u4e00" <= token <= "\u9fff":
                run += token
                continue
            if len(run) >= 2:
                fixes.update(self._repair_run(run))
            run = ""
        return fixes

    def _repair_run(self, run: str) -> dict[str, str]:
        fixes: dict[str, str] = {}
        taken = [False] * len(run)
        for size in (4, 3, 2):
            for start in range(len(run) - size + 1):
                if any(taken[start : start + size]):
                    continue
                gram = run[start : start + size]
                if gram in self._vocab:  # a word the texts use (三防) is not a typo of another (三方)
                    continue
                near = [w for i in range(size) for w in self._by_mask.get(_masked(gram, i), ())]
                if not near:
                    continue
                key = _pinyin_key(gram)
                candidates = [w for w in near if _pinyin_key(w) == key]
                if len(candidates) == 1:
                    fixes[gram] = candidates[0]
                    taken[start : start + size] = [True] * size
        return fixes


def _masked(word: str, i: int) -> str:
    return word[:i] + "\0" + word[i + 1:]


def _zero_article(label: str) -> tuple[int, int] | None:
    """(0, 0) for 第零条 / 第0条, which parse_article_ref rightly does not accept as an article."""
    digits = re.sub(r"[第条條\s]", "", label)
    try:
        return (0, 0) if digits and "之" not in digits and cn_to_int(digits) == 0 else None
    except ValueError:
        return None


class QueryAnalyzer:
    def __init__(self, tokenizer: Tokenizer, titles: Iterable[str], typo_repair: TypoRepair | None) -> None:
        self._tokenizer = tokenizer
        self._typos = typo_repair
        self._mentions: list[tuple[str, str]] = []  # (surface form, title), longest first
        titles = list(titles)
        for title in titles:
            for form in {title, title.replace("中华人民共和国", ""), normalize(title)}:
                if len(form) >= 2:  # 刑法 is a real two-character title
                    self._mentions.append((form, title))
        for alias, title in load_aliases():
            if title in titles:
                self._mentions.append((alias, title))
        self._mentions.sort(key=lambda m: -len(m[0]))
        forms = "|".join(re.escape(form) for form, _ in self._mentions) or r"(?!)"
        self._reference = re.compile(
            rf"(?:《)?(?P<doc>{forms})(?:》)?\s*(?P<art>第\s*{NUMERAL_CLASS}\s*[条條](?:\s*之\s*{NUMERAL_CLASS})?"
            rf"|{NUMERAL_CLASS}\s*[条條](?:\s*之\s*{NUMERAL_CLASS})?|[0-9]+(?![0-9]))"
        )

    def mentioned_documents(self, text: str) -> set[str]:
        found: set[str] = set()
        consumed = text
        for form, title in self._mentions:
            if form in consumed:
                found.add(title)
                consumed = consumed.replace(form, "\0")  # 特种设备安全法 must not also count as 安全法
        return found

    def unknown_documents(self, text: str) -> list[str]:
        """Names in 《》 that match no loaded document (by title, title without 中华人民共和国, or alias)."""
        known = {form for form, _ in self._mentions}
        missing: list[str] = []
        for raw in _BOOK_TITLE.findall(text):
            name = _TITLE_SUFFIX.sub("", raw.strip()).strip()
            if name and name not in known and name.replace("中华人民共和国", "") not in known and name not in missing:
                missing.append(name)
        return missing

    def find_reference(self, text: str) -> ArticleRef | None:
        match = self._reference.search(text)
        if not match:
            return None
        parsed = parse_article_ref(match.group("art")) or _zero_article(match.group("art"))
        if not parsed:
            return None
        title = next(t for f, t in self._mentions if f == match.group("doc"))
        return ArticleRef(title, parsed[0], parsed[1])

    def analyze(self, question: str) -> AnalyzedQuery:
        norm = normalize(question)
        low = norm.lower()
        corrections = self._typos.repair(norm, self._tokenizer.words) if self._typos else {}
        fixed = norm
        for wrong, right in corrections.items():
            fixed = fixed.replace(wrong, right)
        terms: dict[str, float] = {}
        for token in self._tokenizer.tokens(fixed):
            terms[token] = terms.get(token, 0.0) + 1.0
        domain_terms = load_domain_terms()
        domain = any(t in domain_terms for t in terms)
        for key, expansions in load_synonyms():
            if key in low:
                domain = True
                for expansion in expansions:
                    for token in self._tokenizer.tokens(expansion):
                        terms[token] = max(terms.get(token, 0.0), EXPANSION_WEIGHT)
        return AnalyzedQuery(
            original=question,
            normalized=norm,
            dense_text=fixed,
            terms=terms,
            documents=self.mentioned_documents(fixed),
            regions={r for r in REGIONS if r in fixed},
            reference=self.find_reference(fixed),
            penalty=any(cue in low for cue in PENALTY_CUES),
            definition=any(cue in low for cue in DEFINITION_CUES),
            corrections=corrections,
            domain=domain,
            unknown_documents=self.unknown_documents(norm),
        )
