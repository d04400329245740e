"""Answering "who is responsible for X" from the duty rules: the chain of duty-holders by layer."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.cleaning import readable
from knowledge.duties.matcher import TopicMatch, TopicMatcher
from knowledge.duties.models import DutyRule
from knowledge.duties.repository import rules_stamp
from knowledge.duties.schema import LAYERS, NATIONAL
from knowledge.models import Document, Passage

# A second topic is merged into the answer when it matches at least half as well as the first
# and on words of its own ("建筑工地动火谁审批" needs both chains; in "危险化学品运输" the
# 危险化学品 topic is only part of the better match and is left out).
MERGE_RATIO = 0.5
MAX_ARTICLES = 3
EXCERPT_CHARS = 60
OVERLAP_LAYER = "部门监管责任"


@dataclass(frozen=True)
class BasisCite:
    document: str
    article: str

    def label(self) -> str:
        return f"《{self.document}》{self.article}"


@dataclass
class DutyLine:
    layer: str
    party: str
    duty: str
    basis: list[BasisCite]
    jurisdiction: str
    law_wording: str | None = None
    rule_id: str = ""
    topic: str = ""

    @property
    def local(self) -> bool:
        return self.jurisdiction != NATIONAL

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer, "party": self.party, "duty": self.duty,
            "basis": [{"document": b.document, "article": b.article} for b in self.basis],
            "jurisdiction": self.jurisdiction, "law_wording": self.law_wording, "rule_id": self.rule_id,
        }

    def to_text(self, label_local: bool) -> str:
        party = self.party
        if self.law_wording:
            party += f"（法条原称“{self.law_wording}”）"
        if self.local and label_local:
            party += f"［{self.jurisdiction}地方规定］"
        cites = "、".join(b.label() for b in self.basis)
        return f"• {party}：{self.duty.rstrip('。')}。依据：{cites}"


@dataclass
class ArticleExcerpt:
    document: str
    article: str
    excerpt: str

    def to_json(self) -> dict[str, str]:
        return {"document": self.document, "article": self.article, "excerpt": self.excerpt}


@dataclass
class DutyAnswer:
    topic: str
    matched_topics: list[str]
    duties: list[DutyLine]
    overlaps: list[str]
    note: str | None
    jurisdiction: str | None = None
    articles: list[ArticleExcerpt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "matched_topics": self.matched_topics,
            "duties": [d.to_json() for d in self.duties],
            "overlaps": self.overlaps,
            "note": self.note,
            "jurisdiction": self.jurisdiction,
            "articles": [a.to_json() for a in self.articles],
        }

    def to_text(self) -> str:
        """Phone-readable: layer headings, one line per duty-holder with its basis."""
        lines = [f"【{self.topic}】谁负责："]
        label_local = self.jurisdiction is None
        for layer in LAYERS:
            group = [d for d in self.duties if d.layer == layer]
            if not group:
                continue
            lines.append(f"▌{layer}")
            lines += [d.to_text(label_local) for d in group]
        for overlap in self.overlaps:
            lines.append(f"⚠ {overlap}")
        if self.articles:
            lines.append("相关条文：")
            lines += [f"· 《{a.document}》{a.article}：{a.excerpt}" for a in self.articles]
        others = [t for t in self.matched_topics if t != self.topic]
        if others:
            lines.append(f"相关主题：{'、'.join(others[:4])}")
        if self.note:
            lines.append(f"注：{self.note}")
        return "\n".join(lines)


def applies(rule_jurisdiction: str, jurisdiction: str | None) -> bool:
    """National rules apply everywhere; a local rule only inside its province/city."""
    if rule_jurisdiction == NATIONAL or jurisdiction is None:
        return True
    return rule_jurisdiction.startswith(jurisdiction) or jurisdiction.startswith(rule_jurisdiction)


@dataclass
class _Rule:
    id: str
    topic: str
    layer: str
    party: str
    duty: str
    basis: list[BasisCite]
    jurisdiction: str
    law_wording: str | None
    note: str | None
    position: int


class DutyAnswerer:
    """Answers from the rules in the database; rules are cached until the rule table changes."""

    def __init__(self, sessions: sessionmaker[Session], jurisdiction: str | None):
        self.sessions = sessions
        self.jurisdiction = (jurisdiction or "").strip() or None
        # (stamp, rules, matcher) replaced as one tuple, so concurrent readers never mix versions.
        self._snapshot: tuple[object, list[_Rule], TopicMatcher] = (None, [], TopicMatcher([]))
        self._excerpts: dict[BasisCite, str | None] = {}

    def _current(self, session: Session) -> tuple[list[_Rule], TopicMatcher]:
        stamp = rules_stamp(session)
        cached_stamp, rules, matcher = self._snapshot
        if stamp != cached_stamp:
            rows = session.scalars(select(DutyRule)).all()
            rules = [
                _Rule(r.id, r.topic, r.layer, r.party, r.duty,
                      [BasisCite(b["document"], b["article"]) for b in r.basis],
                      r.jurisdiction, r.law_wording, r.note, r.position)
                for r in rows
            ]
            matcher = TopicMatcher.from_rules((r.topic, r.aliases, r.keywords) for r in rows)
            self._snapshot = (stamp, rules, matcher)
            self._excerpts = {}  # a reloaded document may have changed article texts
        return rules, matcher

    def match(self, question: str) -> list[TopicMatch]:
        with self.sessions() as session:
            _, matcher = self._current(session)
        return matcher.match(question)

    def answer(self, question: str) -> DutyAnswer | None:
        """The duty chain for the question's topic, or None when no rule covers it."""
        with self.sessions() as session:
            all_rules, matcher = self._current(session)
            matches = matcher.match(question)
            if not matches:
                return None
            best = matches[0]
            chosen = [best.topic] + [
                m.topic for m in matches[1:]
                if not m.party_centric and not best.party_centric and m.score >= MERGE_RATIO * best.score
                and not _subsumed(m, best)
            ]
            rules = [r for r in all_rules if r.topic in chosen]
            shown = [r for r in rules if applies(r.jurisdiction, self.jurisdiction)]
            hidden = sorted({r.jurisdiction for r in rules if r not in shown})
            if not shown:
                return None
            duties = self._lines(shown, chosen)
            return DutyAnswer(
                topic="、".join(chosen),
                matched_topics=[m.topic for m in matches],
                duties=duties,
                overlaps=_overlaps(duties),
                note=self._note(shown, hidden),
                jurisdiction=self.jurisdiction,
                articles=self._articles(session, duties),
            )

    @staticmethod
    def _lines(rules: list[_Rule], topics: list[str]) -> list[DutyLine]:
        order = {layer: i for i, layer in enumerate(LAYERS)}
        rules = sorted(rules, key=lambda r: (order.get(r.layer, 99), r.jurisdiction != NATIONAL,
                                             topics.index(r.topic), r.position))
        seen: set[tuple[str, str]] = set()
        lines: list[DutyLine] = []
        for r in rules:
            if (r.party, r.duty) in seen:
                continue
            seen.add((r.party, r.duty))
            lines.append(DutyLine(r.layer, r.party, r.duty, r.basis, r.jurisdiction, r.law_wording, r.id, r.topic))
        return lines

    def _note(self, rules: list[_Rule], hidden: list[str]) -> str | None:
        parts: list[str] = []
        for r in rules:
            if r.note and r.note not in parts:
                parts.append(r.note)
        local = sorted({r.jurisdiction for r in rules if r.jurisdiction != NATIONAL})
        if local and self.jurisdiction is None:
            parts.append(f"标注［…地方规定］的条目只适用于{'、'.join(local)}；设置 SAFETYBOT_JURISDICTION 可只显示本地规定。")
        if hidden:
            parts.append(f"另有{'、'.join(hidden)}的地方规定，不适用于{self.jurisdiction}，未列出。")
        return " ".join(parts) or None

    def _articles(self, session: Session, duties: list[DutyLine]) -> list[ArticleExcerpt]:
        """Excerpts of the first distinct articles cited, enterprise layer first."""
        out: list[ArticleExcerpt] = []
        national_first = sorted(duties, key=lambda d: d.local)
        for cite in dict.fromkeys(b for d in national_first for b in d.basis):
            if len(out) >= MAX_ARTICLES:
                break
            text = self._excerpt(session, cite)
            if text:
                out.append(ArticleExcerpt(cite.document, cite.article, text))
        return out

    def _excerpt(self, session: Session, cite: BasisCite) -> str | None:
        if cite not in self._excerpts:
            text = session.scalars(
                select(Passage.text).join(Document, Passage.document_id == Document.id)
                .where(Document.title == cite.document, Passage.article == cite.article)
                .order_by(Passage.ordinal).limit(1)
            ).first()
            if text:
                text = readable(text)  # no pinyin or debris in what users read
                body = text.split(cite.article, 1)[-1] if text.startswith(cite.article) else text
                body = re.sub(r"\s+", "", body)
                text = body[:EXCERPT_CHARS] + ("……" if len(body) > EXCERPT_CHARS else "")
            self._excerpts[cite] = text
        return self._excerpts[cite]


def _subsumed(candidate: TopicMatch, best: TopicMatch) -> bool:
    """Every term of ``candidate`` is part of a term of ``best`` (it matched the same words)."""
    return all(any(part in b for b in best.terms for part in term.split("+")) for term in candidate.terms)


def _party_names(party: str) -> list[str]:
    """"公安派出所；消防救援机构" → both; "应急管理部门（由消防救援机构负责实施）" → 应急管理部门."""
    return [re.sub(r"（.*?）|\(.*?\)", "", p).strip() for p in re.split(r"[；;]", party) if p.strip()]


def _overlaps(duties: list[DutyLine]) -> list[str]:
    """Several departments on one topic: say so, so that nobody assumes the other one acts."""
    out = []
    for topic in dict.fromkeys(d.topic for d in duties):
        parties = list(dict.fromkeys(
            name for d in duties if d.topic == topic and d.layer == OVERLAP_LAYER for name in _party_names(d.party)
        ))
        if len(parties) >= 2:
            out.append(f"职责交叉（{topic}）：{'、'.join(parties)}都负有监管职责，应相互通报、协同执法，"
                       "不能以为对方会管。")
    return out
