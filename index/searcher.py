"""Fused ranking: normalised BM25 and dense scores, plus priors from what the question and the
documents say about authority, jurisdiction and the part of a statute that answers.

Plain reciprocal-rank fusion discards how confident each method is; a min-max normalised
score sum keeps a strong single-method hit on top while still rewarding agreement.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.index_store import IndexStore
from index.query import AnalyzedQuery
from index.tokenize import DATA_DIR
from knowledge.documents import in_jurisdiction

BM25_WEIGHT = 0.5
DENSE_WEIGHT = 0.5
CANDIDATES = 100
DENSE_FLOOR_RANK = 50  # dense scores are rescaled between this rank's score and the best

MENTION_BOOST = 0.3
PLACE_BOOST = 0.15  # a question naming 金坛 prefers documents about 金坛
PLACE_TERM_WEIGHT = 0.2
# A question that names no sector means the general rule: 安全生产法 第三十条 before the mine
# regulation's article on the same subject.
SECTOR_PRIOR = -0.12
INTENT_BOOST = 0.06
# A passage that says, word for word, what the question says ("县级综合应急救援队伍队员不少于",
# "持证上岗率", "餐饮场所燃气泄漏报警装置安装全覆盖") is more surely the answer than one that only
# shares its words: BM25 and the embedding both ignore word order and adjacency. The bonus is the
# share of the question's characters inside runs of PHRASE_MIN or more characters found verbatim
# in the passage (punctuation ignored on both sides, since questions drop it), each run weighted
# by how few of the candidate passages contain it: "事故发生" is in half the accident
# regulation and says nothing about which article answers "事故发生后多久要上报".
PHRASE_WEIGHT = 0.4
PHRASE_MIN = 3
_NOT_TEXT = re.compile(r"[^0-9a-z%.\u3400-\u4dbf\u4e00-\u9fff]+")


def compact(text: str) -> str:
    """Lower-case letters, digits and Chinese characters only (the form phrase matching compares)."""
    return _NOT_TEXT.sub("", text.lower())


def phrase_runs(question: str, passage: str) -> list[str]:
    """The non-overlapping runs of at least PHRASE_MIN characters of ``question`` (longest first,
    left to right) that occur verbatim in ``passage``; both in ``compact`` form."""
    runs: list[str] = []
    i = 0
    while passage and i <= len(question) - PHRASE_MIN:
        # A run must start with PHRASE_MIN characters in the passage: test that first, since most
        # positions of most candidates fail there (this runs for a hundred passages per answer).
        if question[i:i + PHRASE_MIN] not in passage:
            i += 1
            continue
        length = PHRASE_MIN
        while i + length < len(question) and question[i:i + length + 1] in passage:
            length += 1
        runs.append(question[i:i + length])
        i += length
    return runs


def phrase_bonuses(question: str, texts: dict[int, str]) -> dict[int, float]:
    """Per passage: the share of ``question`` it says verbatim, each run weighted by its rarity
    among ``texts`` (1 when only this passage has it, falling towards 0 as all of them do)."""
    if len(question) < PHRASE_MIN:
        return {}
    runs = {pid: phrase_runs(question, text) for pid, text in texts.items()}
    distinct = {run for found in runs.values() for run in found}
    n = len(texts)
    rarity = {run: math.log1p(n / sum(1 for t in texts.values() if run in t)) / math.log1p(n) for run in distinct}
    return {pid: sum(len(r) * rarity[r] for r in found) / len(question) for pid, found in runs.items() if found}


# Higher authority first: a statute outranks a regulation restating the same rule, and a local
# regulation applies only in its own region.
KIND_PRIOR = {
    "law": 0.06, "regulation": 0.0, "rule": -0.03, "judicial_interpretation": -0.03,
    "local_regulation": -0.12, "policy": 0.0, "notice": 0.0, "speech": -0.04, "news": -0.04, "other": -0.02,
}


# Kinds whose title restates what the whole document is about (a 通报's "第一季度…督查检查情况",
# a 方案's "燃气安全专项整治"): question words found in such a title say which document, not
# which of its passages, answers. Statute titles name a law, and their articles do not repeat it.
TITLE_TOPIC_KINDS = frozenset({"notice", "speech", "news", "policy", "other"})


@dataclass(frozen=True)
class DocInfo:
    title: str
    kind: str
    jurisdiction: str
    current: bool
    places: tuple[str, ...] = ()  # full and short names of the place a local document is about
    sector: str | None = None  # e.g. "煤矿" for a document on one industry only (see sector_of)
    title_terms: frozenset[str] = frozenset()  # index tokens of the title (TITLE_TOPIC_KINDS only)
    status: str = "现行有效"  # DocStatus, for the label of a citation


@lru_cache(maxsize=1)
def _sectors() -> tuple[tuple[str, tuple[str, ...]], ...]:
    rows = []
    for line in (DATA_DIR / "sectors.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            word, _, cues = line.partition("\t")
            rows.append((word.strip(), tuple(c for c in cues.strip().split("|") if c)))
    return tuple(rows)


def sector_of(title: str) -> str | None:
    """The industry a document is limited to, named in its title (煤矿安全生产条例 → 煤矿)."""
    return next((word for word, _ in _sectors() if word in title), None)


def names_a_sector(question: str) -> bool:
    return any(cue in question for _, cues in _sectors() for cue in cues)


@dataclass(frozen=True)
class PassageInfo:
    document_id: int
    path: str
    text: str = ""  # the index text in ``compact`` form, for phrase matching


@dataclass
class Ranked:
    passage_id: int
    score: float
    bm25: float  # raw BM25 score (0 when not matched)
    dense: float  # raw cosine (0 when not among dense candidates)


class Searcher:
    def __init__(self, store: IndexStore, jurisdiction: str | None) -> None:
        self.store = store
        self.jurisdiction = jurisdiction
        self.docs: dict[int, DocInfo] = {}
        self.passages: dict[int, PassageInfo] = {}

    def _without_places(self, query: AnalyzedQuery) -> dict[str, float]:
        """Query terms with the names of loaded documents' places turned down: "金坛" chooses the
        document (PLACE_BOOST), it must not choose the passage that happens to name it."""
        places = {name for doc in self.docs.values() for name in doc.places}
        if not places:
            return query.terms
        return {t: (w * PLACE_TERM_WEIGHT if t in places else w) for t, w in query.terms.items()}

    def prior(self, pid: int, query: AnalyzedQuery, general: bool = False) -> float | None:
        """Score adjustment for a passage; None when it must not be cited at all. ``general``:
        the question names no sector, so sector-specific documents step back."""
        info = self.passages.get(pid)
        doc = self.docs.get(info.document_id) if info else None
        if info is None or doc is None or not doc.current:
            return None
        bonus = KIND_PRIOR.get(doc.kind, 0.0)
        if doc.kind == "local_regulation" and (
            in_jurisdiction(doc.jurisdiction, self.jurisdiction)
            or any(doc.jurisdiction.startswith(r) for r in query.regions)
        ):
            bonus = 0.0
        if doc.title in query.documents:
            bonus += MENTION_BOOST
        if doc.places and any(name in query.normalized for name in doc.places):
            bonus += PLACE_BOOST
        if general and doc.sector and doc.title not in query.documents:
            bonus += SECTOR_PRIOR
        if query.penalty and ("法律责任" in info.path or "罚则" in info.path):
            bonus += INTENT_BOOST
        if query.definition and "附则" in info.path:
            bonus += INTENT_BOOST
        return bonus

    def _title_terms_per_document(self, terms: dict[str, float], ids: list[int], scores: np.ndarray) -> np.ndarray:
        """BM25 scores in which the question's words that a document's title contains count the
        same for every passage of that document (as much as for its best-matching passage).

        A 通报 titled "关于2024年第一季度安全生产督查检查情况的通报" opens with a paragraph that
        repeats "第一季度…督查"; asked "第一季度督查发现了多少项隐患问题", that opening outscores
        the paragraph with "发现各类隐患问题214项" on title words alone. Those words choose the
        document; the other words of the question must choose the passage. ``terms``: the
        question's terms as BM25 searched them."""
        by_doc: dict[int, list[int]] = {}
        for i, pid in enumerate(ids):
            info = self.passages.get(pid)
            doc = self.docs.get(info.document_id) if info else None
            if doc is not None and doc.title_terms and doc.kind in TITLE_TOPIC_KINDS:
                by_doc.setdefault(info.document_id, []).append(i)
        if not by_doc:
            return scores
        adjusted = scores.astype(np.float32).copy()
        for doc_id, rows in by_doc.items():
            shared = {t: w for t, w in terms.items() if t in self.docs[doc_id].title_terms}
            if not shared:
                continue
            part = self.store.keyword.scores_for([ids[i] for i in rows], shared)
            adjusted[rows] = adjusted[rows] - part + part.max()
        return adjusted

    def rank(self, query: AnalyzedQuery, query_vector: np.ndarray, k: int) -> list[Ranked]:
        terms = self._without_places(query)
        keyword = self.store.keyword.search(terms, CANDIDATES)
        dense = self.store.vectors.search(query_vector, CANDIDATES) if self.store.vectors else None
        fused: dict[int, Ranked] = {}
        if len(keyword.ids):
            scores = self._title_terms_per_document(terms, keyword.ids.tolist(), keyword.scores)
            top = float(scores.max())
            for pid, score in zip(keyword.ids.tolist(), scores.tolist()):
                fused[pid] = Ranked(pid, BM25_WEIGHT * score / top, score, 0.0)
        if dense is not None and len(dense.ids):
            best = float(dense.scores[0])
            floor = float(dense.scores[min(len(dense.scores) - 1, DENSE_FLOOR_RANK)])
            span = max(best - floor, 1e-6)
            for pid, score in zip(dense.ids.tolist(), dense.scores.tolist()):
                part = DENSE_WEIGHT * max(0.0, (score - floor) / span)
                entry = fused.setdefault(pid, Ranked(pid, 0.0, 0.0, 0.0))
                entry.score += part
                entry.dense = score
        results = []
        # Expansions count: "work-related injury" names 工伤 as much as 工伤 does.
        general = not names_a_sector(query.dense_text + " " + " ".join(query.terms))
        phrases = phrase_bonuses(compact(query.dense_text),
                                 {pid: info.text for pid in fused if (info := self.passages.get(pid)) is not None})
        for entry in fused.values():
            bonus = self.prior(entry.passage_id, query, general)
            if bonus is None:
                continue
            entry.score += bonus + PHRASE_WEIGHT * phrases.get(entry.passage_id, 0.0)
            results.append(entry)
        results.sort(key=lambda r: -r.score)
        return results[:k]
