"""Finding the topics a question is about: aliases and keywords of the rules, after normalisation.

Users write 应急局, 住建局, 特种作业证, 危化品 or Traditional characters; the question is normalised
(knowledge.textnorm.normalize) and abbreviations are expanded to the terms the rules use.
An alias written "事故+报告" matches when every part occurs ("发生事故谁负责报告").
Topics whose name ends in "职责" describe a party (乡镇和街道的安全生产职责 …); they are chosen only
when no activity/place topic matches, so "应急局管不管动火作业" is answered from 动火作业.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from knowledge.textnorm import normalize

# Abbreviations and old names as officials type them → the terms used in the rules. Department
# names expand to the department only (not to a topic): "住建局管不管塔吊" is about 塔吊.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "应急局": ("应急管理部门",), "应急管理局": ("应急管理部门",), "应急厅": ("应急管理部门",),
    "安监局": ("应急管理部门",), "安监站": ("应急管理部门",), "安监": ("应急管理部门",),
    "住建局": ("住房和城乡建设主管部门",), "住建委": ("住房和城乡建设主管部门",),
    "住建厅": ("住房和城乡建设主管部门",), "住建部门": ("住房和城乡建设主管部门",), "建委": ("住房和城乡建设主管部门",),
    "市监局": ("市场监督管理部门",), "市场监管局": ("市场监督管理部门",), "质监局": ("市场监督管理部门",),
    "工商局": ("市场监督管理部门",), "特检院": ("特种设备",),
    "消防队": ("消防救援机构",), "消防大队": ("消防救援机构",), "消防支队": ("消防救援机构",),
    "消防救援大队": ("消防救援机构",), "公安消防": ("消防救援机构",),
    "卫健委": ("卫生健康主管部门",), "卫健局": ("卫生健康主管部门",),
    "人社局": ("人力资源社会保障部门",), "环保局": ("生态环境主管部门",), "生态环境局": ("生态环境主管部门",),
    "交通局": ("交通运输主管部门",), "公安局": ("公安机关",), "派出所": ("公安派出所",),
    "工信局": ("工业和信息化主管部门",), "经信局": ("工业和信息化主管部门",),
    "特种作业证": ("特种作业操作证", "特种作业"), "特种作业操作资格证": ("特种作业操作证", "特种作业"),
    "操作证": ("特种作业操作证",), "上岗证": ("持证上岗",),
    "安许证": ("安全生产许可证",), "安全许可证": ("安全生产许可证",),
    "危化品": ("危险化学品",), "危化": ("危险化学品",), "危险品": ("危险化学品",),
    "特设": ("特种设备",), "安评": ("安全评价",), "职业卫生": ("职业病",),
    "街道办": ("街道办事处",), "镇政府": ("乡镇人民政府",), "乡政府": ("乡镇人民政府",), "镇里": ("乡镇",),
    "老板": ("主要负责人",), "一把手": ("主要负责人",), "法人": ("主要负责人",),
    "应急预按": ("应急预案",), "隐患整该": ("隐患整改",),
}
# Only "/" separates alternatives in a topic name ("电焊/气焊/动火作业"); parenthesised parts are
# explanations, and "、" joins parts of one matter ("危险化学品生产、储存"), so neither yields aliases.
_SPLIT_TOPIC = re.compile(r"[/／]+")
_PARENTHESIS = re.compile(r"（[^）]*）|\([^)]*\)")
PARTY_TOPIC_SUFFIX = "职责"


@dataclass
class TopicTerms:
    topic: str
    aliases: set[str] = field(default_factory=set)
    keywords: set[str] = field(default_factory=set)

    @property
    def party_centric(self) -> bool:
        return self.topic.endswith(PARTY_TOPIC_SUFFIX)


@dataclass(frozen=True)
class TopicMatch:
    topic: str
    score: float
    terms: tuple[str, ...]
    party_centric: bool


_ABBR_RE = re.compile("|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True)))


def prepare_question(text: str) -> str:
    """Normalised, lower-cased question with abbreviations replaced by the rules' terms.

    Replaced rather than appended, so "危化品" and its expansion do not count twice.
    """
    norm = normalize(text or "").lower()
    return _ABBR_RE.sub(lambda m: " ".join(ABBREVIATIONS[m.group(0)]), norm)


def _term(text: str) -> str:
    return normalize(text).lower()


class TopicMatcher:
    """Scores every topic of a rule set against a question (substring matching; the set is small)."""

    def __init__(self, topics: Iterable[TopicTerms]):
        self.topics = list(topics)

    @classmethod
    def from_rules(cls, rules: Iterable[tuple[str, Iterable[str], Iterable[str]]]) -> TopicMatcher:
        """``rules``: (topic, aliases, keywords) per rule; terms of one topic are merged."""
        by_topic: dict[str, TopicTerms] = {}
        for topic, aliases, keywords in rules:
            terms = by_topic.setdefault(topic, TopicTerms(topic))
            terms.aliases.add(_term(topic))
            bare = _PARENTHESIS.sub("", topic)
            terms.aliases.add(_term(bare))
            terms.aliases.update(_term(p) for p in _SPLIT_TOPIC.split(bare) if len(p.strip()) >= 2)
            terms.aliases.update(_term(a) for a in aliases if a.strip())
            terms.keywords.update(_term(k) for k in keywords if k.strip())
        return cls(by_topic.values())

    def match(self, question: str) -> list[TopicMatch]:
        """Matching topics, best first; party topics only when nothing else matches."""
        text = prepare_question(question)
        found: list[TopicMatch] = []
        for terms in self.topics:
            hits = _longest_only([a for a in terms.aliases if _occurs(a, text)])
            covered = "".join(hits)
            kw = _longest_only([k for k in terms.keywords if _occurs(k, text) and k not in covered])
            if not hits and sum(_length(k) for k in kw) < 3:
                continue  # a short keyword alone is too weak to claim a topic
            # Longer aliases are more specific ("危化品运输" beats "危化品"); several hits add up.
            score = 2.0 * sum(_length(h) for h in hits) + sum(_length(k) for k in kw)
            found.append(TopicMatch(terms.topic, score, tuple(hits + kw), terms.party_centric))
        found.sort(key=lambda m: (-m.score, m.topic))
        activity = [m for m in found if not m.party_centric]
        return activity + [m for m in found if m.party_centric] if activity else found


def _occurs(term: str, text: str) -> bool:
    return bool(term) and all(part in text for part in term.split("+"))


def _length(term: str) -> int:
    return len(term.replace("+", ""))


def _longest_only(terms: list[str]) -> list[str]:
    """Drop terms contained in a longer matched term, so one phrase is not counted twice."""
    terms = sorted(set(terms), key=_length, reverse=True)
    kept: list[str] = []
    for t in terms:
        parts = t.split("+")
        if not any(all(p in k.replace("+", "") for p in parts) for k in kept):
            kept.append(t)
    return kept
