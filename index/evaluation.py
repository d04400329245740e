"""Scoring retrieval on a question file with gold (document, article) pairs."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.knowledge_base import KnowledgeBase

KS = (1, 5, 10)


@dataclass
class Outcome:
    id: str
    question: str
    style: str
    rank: int | None  # 1-based rank of the first gold article among the citations
    latency_ms: float
    top: list[str] = field(default_factory=list)
    gold: list[str] = field(default_factory=list)


@dataclass
class EvalResult:
    outcomes: list[Outcome]

    @staticmethod
    def _scores(outcomes: list[Outcome]) -> dict:
        n = len(outcomes)
        out: dict = {"n": n}
        for k in KS:
            out[f"recall@{k}"] = round(sum(1 for o in outcomes if o.rank and o.rank <= k) / n, 4) if n else 0.0
        out["mrr"] = round(sum(1 / o.rank for o in outcomes if o.rank and o.rank <= 10) / n, 4) if n else 0.0
        return out

    def to_json(self) -> dict:
        data = self._scores(self.outcomes)
        lat = np.array([o.latency_ms for o in self.outcomes]) if self.outcomes else np.zeros(1)
        data["latency_ms"] = {"p50": round(float(np.percentile(lat, 50)), 1),
                              "p95": round(float(np.percentile(lat, 95)), 1)}
        styles = sorted({o.style for o in self.outcomes})
        data["by_style"] = {s: self._scores([o for o in self.outcomes if o.style == s]) for s in styles}
        return data

    def to_text(self, show_misses: bool = False) -> str:
        d = self.to_json()
        lines = [f"n={d['n']}  recall@1={d['recall@1']:.3f}  recall@5={d['recall@5']:.3f}  "
                 f"recall@10={d['recall@10']:.3f}  MRR={d['mrr']:.3f}  "
                 f"latency p50={d['latency_ms']['p50']}ms p95={d['latency_ms']['p95']}ms"]
        for style, s in d["by_style"].items():
            lines.append(f"  {style:12s} n={s['n']:3d}  R@1={s['recall@1']:.2f}  R@5={s['recall@5']:.2f}  "
                         f"R@10={s['recall@10']:.2f}  MRR={s['mrr']:.3f}")
        if show_misses:
            for o in self.outcomes:
                if not o.rank or o.rank > 5:
                    lines.append(f"  MISS {o.id} {o.question}  gold={o.gold}  top={o.top[:3]}")
        return "\n".join(lines)


def evaluate_file(kb: KnowledgeBase, path: Path) -> EvalResult:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if items:
        kb.search(items[0]["question"], k=10)  # warm-up: latency is measured warm
    outcomes = []
    for item in items:
        gold = {(g.get("law") or g.get("document"), g["article"]) for g in item["gold"]}
        start = time.perf_counter()
        citations = kb.search(item["question"], k=10)
        elapsed = (time.perf_counter() - start) * 1000
        keys = [(c.document, c.article) for c in citations]
        rank = next((i + 1 for i, key in enumerate(keys) if key in gold), None)
        outcomes.append(Outcome(
            id=str(item.get("id", len(outcomes) + 1)), question=item["question"], style=item.get("style", "plain"),
            rank=rank, latency_ms=elapsed, top=[f"{d}{a or ''}" for d, a in keys],
            gold=sorted(f"{d}{a}" for d, a in gold),
        ))
    return EvalResult(outcomes)
