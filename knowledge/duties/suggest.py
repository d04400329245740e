"""Candidate duty rules proposed from a loaded document's text, for an admin to review.

Nothing here writes to the database: the output is a YAML file in the loader's flat format
with an empty ``topic`` on every candidate, so it cannot be loaded before someone fills it in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import Document, Passage

_PARTY = (
    r"(?P<party>[\u4e00-\u9fff、和及与（）()]{1,40}?"
    r"(?:单位|企业|部门|人民政府|政府|办事处|机构|机关|负责人|人员|承办者|管理者|经营者|用户|委员会|派出所|劳动者|工会|投资人|责任人|托运人|承运人))"
)
_LEAD = r"^(?:[（(][一二三四五六七八九十]+[）)])?"
# (pattern name, regex applied to one clause-initial text span)
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("由…负责", re.compile(r"由" + _PARTY + r"(?:负责|组织)(?P<duty>[^。；]{2,80})")),
    ("…对本单位…全面负责", re.compile(_LEAD + _PARTY + r"(?:依法)?对本(?:单位|企业|行政区域)[^。；]{0,30}?(?:全面)?负责")),
    ("第一责任人", re.compile(_LEAD + _PARTY + r"(?:是|为)[^。；]{0,20}?第一责任人")),
    ("…负责…的监督管理", re.compile(_LEAD + _PARTY + r"(?:依照[^。；]{0,30}?)?负责(?P<duty>[^。；]{2,60}?)(?:的)?(?:安全)?监督管理")),
    ("应当", re.compile(_LEAD + _PARTY + r"(?:应当|必须)(?P<duty>[^。；]{2,80})")),
]
# Pre-2018 names in older statutes → today's body (the law's wording is kept in law_wording).
MODERN_NAMES = {
    "安全生产监督管理部门": "应急管理部门",
    "公安机关消防机构": "消防救援机构",
    "质量监督检验检疫部门": "市场监督管理部门",
    "质量技术监督部门": "市场监督管理部门",
    "工商行政管理部门": "市场监督管理部门",
    "环境保护主管部门": "生态环境主管部门",
}
_CLAUSE_SPLIT = re.compile(r"(?<=[。；：\n])")


@dataclass
class Candidate:
    id: str
    layer: str
    party: str
    duty: str
    document: str
    article: str
    evidence: str
    pattern: str
    law_wording: str | None
    jurisdiction: str

    def to_rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "id": self.id, "topic": "", "aliases": [], "keywords": [], "layer": self.layer,
            "party": self.party, "duty": self.duty,
            "basis": [{"document": self.document, "article": self.article, "evidence": self.evidence}],
            "jurisdiction": self.jurisdiction,
            "note": f"自动建议（模式：{self.pattern}），请核对后填写 topic 再加载",
        }
        if self.law_wording:
            rule["law_wording"] = self.law_wording
        return rule


def guess_layer(party: str) -> str:
    """A first guess from the party's name; the admin reviews every candidate anyway."""
    if "党" in party or ("人民政府" in party and party.endswith("负责人")):
        return "党政领导责任"
    if re.search(r"(?:部门|机关|派出所|监察机构|救援机构)$", party) and "单位" not in party:
        return "部门监管责任"
    if re.search(r"(?:人民政府|政府|办事处|委员会)$", party):
        return "属地管理责任"
    if "负责人" in party or re.search(r"单位|企业|承办者|管理者|经营者|用户|投资人|托运人|承运人", party):
        return "企业主体责任"
    if re.search(r"人员|劳动者|责任人", party):
        return "从业人员/岗位"
    return "企业主体责任"


def modernize(party: str) -> tuple[str, str | None]:
    wording = [old for old in MODERN_NAMES if old in party]
    for old in wording:
        party = party.replace(old, MODERN_NAMES[old])
    return party, ("；".join(wording) or None)


def suggest_rules(session: Session, document: str, *, limit: int = 200) -> list[Candidate] | None:
    """Candidates from ``document`` (stored title); None when no such document is loaded."""
    doc = session.scalar(select(Document).where(Document.title == document))
    if doc is None:
        return None
    rows = session.execute(
        select(Passage.article, Passage.text).where(Passage.document_id == doc.id, Passage.article.is_not(None))
        .order_by(Passage.ordinal)
    ).all()
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    for article, text in rows:
        assert article is not None  # filtered in the query
        body = text.removeprefix(article)
        for sentence in _CLAUSE_SPLIT.split(body):
            sentence = sentence.strip()
            for clause_start in _clause_starts(sentence):
                found = _first_match(sentence[clause_start:])
                if found is None:
                    continue
                name, match = found
                party_raw = match.group("party").strip("、和及与")
                if (party_raw, article) in seen or len(party_raw) < 2:
                    continue
                seen.add((party_raw, article))
                party, wording = modernize(party_raw)
                duty = sentence[clause_start:].strip()[:200]
                out.append(Candidate(
                    id=f"{doc.title}-{article}-{sum(1 for c in out if c.article == article) + 1}",
                    layer=guess_layer(party), party=party, duty=duty, document=doc.title, article=article,
                    evidence=match.group(0)[:60], pattern=name, law_wording=wording,
                    jurisdiction=doc.jurisdiction or "全国",
                ))
                if len(out) >= limit:
                    return out
                break
    return out


def _clause_starts(sentence: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer(r"[，,]", sentence)]


def _first_match(text: str) -> tuple[str, re.Match[str]] | None:
    for name, pattern in PATTERNS:
        m = pattern.search(text) if name == "由…负责" else pattern.match(text)
        if m:
            return name, m
    return None


def candidates_yaml(candidates: list[Candidate], document: str) -> str:
    header = (
        f"# 由《{document}》自动生成的候选职责规则，仅供审核，尚未发布。\n"
        "# 请逐条核对责任主体、层级和职责表述，填写 topic（及 aliases/keywords），删除不需要的条目，\n"
        "# 然后用 `safetybot duties load 本文件` 加载；topic 为空的条目会被拒绝。\n"
    )
    body = yaml.safe_dump({"rules": [c.to_rule() for c in candidates]}, allow_unicode=True, sort_keys=False, width=200)
    return header + body
