"""Exact inner-product search (faiss) over passage vectors.

A passage longer than the model's window is embedded as several windows; each window is
stored under ``passage_id * WINDOWS + window`` so a passage's vectors can be removed together
and hits are folded back to the passage by taking its best window.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import faiss
import numpy as np

from index.keyword_index import ScoredIds

WINDOWS = 64  # upper bound on windows per passage; longer passages keep their first 64
# One query against fewer vectors than this is searched on one thread: faiss's OpenMP team costs
# far more than the scan (0.2 ms alone vs 25-35 ms with two threads on a busy 2-core machine).
PARALLEL_MIN_VECTORS = 200_000


class VectorIndex:
    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def passage_ids(self) -> set[int]:
        if not len(self):
            return set()
        ids = faiss.vector_to_array(self._index.id_map)
        return set((ids // WINDOWS).tolist())

    def add(self, passage_ids: list[int], windows: list[int], vectors: np.ndarray) -> None:
        if not passage_ids:
            return
        if vectors.shape != (len(passage_ids), self.dim):
            raise ValueError(f"expected {len(passage_ids)}x{self.dim} vectors, got {vectors.shape}")
        ids = np.asarray(passage_ids, dtype=np.int64) * WINDOWS + np.asarray(windows, dtype=np.int64)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, passage_ids: list[int] | set[int]) -> None:
        if not passage_ids or not len(self):
            return
        all_ids = faiss.vector_to_array(self._index.id_map)
        wanted = np.isin(all_ids // WINDOWS, np.fromiter(passage_ids, dtype=np.int64))
        if wanted.any():
            self._index.remove_ids(faiss.IDSelectorBatch(all_ids[wanted]))

    def search(self, query: np.ndarray, k: int) -> ScoredIds:
        if not len(self):
            return ScoredIds(np.zeros(0, np.int64), np.zeros(0, np.float32))
        fetch = min(len(self), k * 3)  # extra room: several windows may belong to one passage
        faiss.omp_set_num_threads(1 if len(self) < PARALLEL_MIN_VECTORS else os.cpu_count() or 1)
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), fetch)
        best: dict[int, float] = {}
        for raw, score in zip(ids[0].tolist(), scores[0].tolist()):
            if raw < 0:
                continue
            pid = raw // WINDOWS
            if pid not in best:  # results are sorted, so the first window seen is the best
                best[pid] = score
        top = list(best.items())[:k]
        return ScoredIds(
            np.asarray([p for p, _ in top], dtype=np.int64), np.asarray([s for _, s in top], dtype=np.float32)
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.tmp")  # see KeywordIndex.save
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        raw = faiss.read_index(str(path))
        # read_index already returns the concrete proxy, which owns the C++ object; a
        # downcast_index() proxy would not, and the index would be freed under us.
        if not isinstance(raw, faiss.IndexIDMap2):
            raise ValueError("unexpected faiss index type")
        index = cls(raw.d)
        index._index = raw
        return index
