"""BM25 over jieba tokens, stored as a sparse term-count matrix so updates are incremental.

Raw counts are kept (not weights) because idf and the average length change with every
ingest; the BM25 weight matrix is re-derived from the counts in one vectorised step.
"""
from __future__ import annotations

import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class ScoredIds:
    ids: np.ndarray  # passage ids, best first
    scores: np.ndarray


class KeywordIndex:
    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.ids = np.zeros(0, dtype=np.int64)
        self._counts = sparse.csr_matrix((0, 0), dtype=np.float32)
        self._weights: sparse.csc_matrix | None = None
        self._rows: dict[int, int] | None = None  # passage id -> row, derived from ids when needed
        self._df = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def id_set(self) -> set[int]:
        return set(self.ids.tolist())

    # -- updates -------------------------------------------------------------------------
    def add(self, ids: list[int], token_lists: list[list[str]]) -> None:
        if not ids:
            return
        self.remove(ids)  # re-adding a passage replaces it
        rows, cols, vals = [], [], []
        for row, tokens in enumerate(token_lists):
            for term, count in Counter(tokens).items():
                col = self.vocab.setdefault(term, len(self.vocab))
                rows.append(row)
                cols.append(col)
                vals.append(count)
        new = sparse.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(ids), len(self.vocab))
        )
        old = self._counts
        if old.shape[1] < len(self.vocab):
            old = sparse.csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], len(self.vocab)))
        self._counts = sparse.vstack([old, new], format="csr")
        self.ids = np.concatenate([self.ids, np.asarray(ids, dtype=np.int64)])
        self._weights = self._rows = None

    def remove(self, ids: list[int] | set[int]) -> None:
        if not len(self.ids):
            return
        keep = ~np.isin(self.ids, np.fromiter(ids, dtype=np.int64))
        if keep.all():
            return
        self._counts = self._counts[keep]
        self.ids = self.ids[keep]
        self._weights = self._rows = None

    # -- search --------------------------------------------------------------------------
    def _bm25(self) -> sparse.csc_matrix:
        if self._weights is None:
            counts = self._counts.tocoo()
            n_docs = max(self._counts.shape[0], 1)
            doc_len = np.asarray(self._counts.sum(axis=1)).ravel()
            avg = float(doc_len.mean()) if doc_len.size else 1.0
            df = np.bincount(counts.col, minlength=self._counts.shape[1])
            self._df = df
            idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
            tf = counts.data
            norm = K1 * (1 - B + B * doc_len[counts.row] / max(avg, 1e-9))
            data = idf[counts.col] * tf * (K1 + 1) / (tf + norm)
            self._weights = sparse.csc_matrix(
                (data.astype(np.float32), (counts.row, counts.col)), shape=self._counts.shape
            )
        return self._weights

    def search(self, weighted_terms: dict[str, float], k: int) -> ScoredIds:
        cols = [(self.vocab[t], w) for t, w in weighted_terms.items() if t in self.vocab]
        if not cols or not len(self.ids):
            return ScoredIds(np.zeros(0, np.int64), np.zeros(0, np.float32))
        idx = [c for c, _ in cols]
        qw = np.asarray([w for _, w in cols], dtype=np.float32)
        scores = np.asarray(self._bm25()[:, idx] @ qw).ravel()
        nonzero = np.flatnonzero(scores > 0)
        if nonzero.size > k:
            top = nonzero[np.argpartition(-scores[nonzero], k - 1)[:k]]
        else:
            top = nonzero
        order = top[np.argsort(-scores[top], kind="stable")]
        return ScoredIds(self.ids[order], scores[order])

    def scores_for(self, ids: list[int], weighted_terms: dict[str, float]) -> np.ndarray:
        """BM25 scores of the given passages (0 for unknown ones) for ``weighted_terms``."""
        out = np.zeros(len(ids), dtype=np.float32)
        cols = [(self.vocab[t], w) for t, w in weighted_terms.items() if t in self.vocab]
        if not cols or not ids or not len(self.ids):
            return out
        if self._rows is None:  # once per change of the index, not once per question
            self._rows = {pid: row for row, pid in enumerate(self.ids.tolist())}
        rows = self._rows
        wanted = [(i, rows[pid]) for i, pid in enumerate(ids) if pid in rows]
        if not wanted:
            return out
        qw = np.asarray([w for _, w in cols], dtype=np.float32)
        weights = self._bm25()[:, [c for c, _ in cols]].tocsr()[[r for _, r in wanted]]
        out[[i for i, _ in wanted]] = np.asarray(weights @ qw).ravel()
        return out

    def document_frequency(self, term: str) -> int:
        """In how many indexed passages ``term`` occurs."""
        col = self.vocab.get(term)
        if col is None:
            return 0
        self._bm25()
        return int(self._df[col]) if col < len(self._df) else 0

    def terms(self) -> list[str]:
        """Terms that occur in at least one indexed passage."""
        self._bm25()
        return [t for t, col in self.vocab.items() if col < len(self._df) and self._df[col] > 0]

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # Temporary names of this process and thread: a writer that does not hold the data
        # folder's writer lock (start-up repair) must never rename another one's half-written file.
        tag = f"{os.getpid()}-{threading.get_ident()}"
        tmp_npz = directory / f"keyword.{tag}.tmp.npz"
        sparse.save_npz(tmp_npz, self._counts)
        tmp_ids = directory / f"keyword_ids.{tag}.tmp.npy"
        np.save(tmp_ids, self.ids)
        tmp_vocab = directory / f"keyword_vocab.{tag}.tmp.json"
        tmp_vocab.write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp_npz, directory / "keyword.npz")
        os.replace(tmp_ids, directory / "keyword_ids.npy")
        os.replace(tmp_vocab, directory / "keyword_vocab.json")

    @classmethod
    def load(cls, directory: Path) -> KeywordIndex:
        index = cls()
        index._counts = sparse.load_npz(directory / "keyword.npz").tocsr().astype(np.float32)
        index.ids = np.load(directory / "keyword_ids.npy")
        index.vocab = json.loads((directory / "keyword_vocab.json").read_text(encoding="utf-8"))
        if index._counts.shape[0] != index.ids.shape[0]:
            raise ValueError("keyword index files disagree")
        return index
