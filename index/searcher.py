"""Fused ranking: normalised BM25 and dense scores, plus priors from what the question and the
documents say about authority, jurisdiction and the part of a statute that answers.

Plain reciprocal-rank fusion discards how confident each method is; a min-max normalised
score sum keeps a strong single-method hit on top while still rewarding agreement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.index_store import IndexStore
from index.query import AnalyzedQuery
from knowledge.documents import in_jurisdiction

BM25_WEIGHT = 0.5
DENSE_WEIGHT = 0.5
CANDIDATES = 100
DENSE_FLOOR_RANK = 50  # dense scores are rescaled between this rank's score and the best

MENTION_BOOST = 0.3
PLACE_BOOST = 0.15  # a question naming 金坛 prefers documents about 金坛
INTENT_BOOST = 0.06
# Higher authority first: a statute outranks a regulation restating the same rule, and a local
# regulation applies only in its own region.
KIND_PRIOR = {
    "law": 0.06, "regulation": 0.0, "rule": -0.03, "judicial_interpretation": -0.03,
    "local_regulation": -0.12, "policy": 0.0, "notice": 0.0, "speech": -0.04, "news": -0.04, "other": -0.02,
}


@dataclass(frozen=True)
class DocInfo:
    title: str
    kind: str
    jurisdiction: str
    current: bool
    places: tuple[str, ...] = ()  # full and short names of the place a local document is about


@dataclass(frozen=True)
class PassageInfo:
    document_id: int
    path: str


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

    def prior(self, pid: int, query: AnalyzedQuery) -> float | None:
        """Score adjustment for a passage; None when it must not be cited at all."""
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
        if query.penalty and ("法律责任" in info.path or "罚则" in info.path):
            bonus += INTENT_BOOST
        if query.definition and "附则" in info.path:
            bonus += INTENT_BOOST
        return bonus

    def rank(self, query: AnalyzedQuery, query_vector: np.ndarray, k: int) -> list[Ranked]:
        keyword = self.store.keyword.search(query.terms, CANDIDATES)
        dense = self.store.vectors.search(query_vector, CANDIDATES) if self.store.vectors else None
        fused: dict[int, Ranked] = {}
        if len(keyword.ids):
            top = float(keyword.scores[0])
            for pid, score in zip(keyword.ids.tolist(), keyword.scores.tolist()):
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
        for entry in fused.values():
            bonus = self.prior(entry.passage_id, query)
            if bonus is None:
                continue
            entry.score += bonus
            results.append(entry)
        results.sort(key=lambda r: -r.score)
        return results[:k]
