"""The on-disk vector and keyword indexes, kept consistent with the passages table.

The database is the source of truth. Index files are a cache of it: on start they are loaded
and compared with the passage ids in the database; whatever differs is added or removed (the
embedding cache makes re-adding cheap), so a crash between a database commit and an index save
heals itself on the next start.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from index.embedding_model import Embedder
from index.keyword_index import KeywordIndex
from index.tokenize import Tokenizer
from index.vector_index import WINDOWS, VectorIndex
from knowledge.models import EmbeddingCache, Passage

log = logging.getLogger(__name__)

WINDOW_CHARS = 380  # below the model's 512-token window for Chinese text, with room for the prompt
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")

Progress = Callable[[int, int], None]


def windows_of(text: str, size: int = WINDOW_CHARS) -> list[str]:
    """Sentence-bounded windows of at most ``size`` characters, overlapping by one sentence."""
    if len(text) <= size:
        return [text]
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    windows: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        while len(sentence) > size:  # a single overlong sentence is cut hard
            windows.append(sentence[:size])
            sentence = sentence[size:]
        if current and len("".join(current)) + len(sentence) > size:
            windows.append("".join(current))
            current = current[-1:] if len(current[-1]) + len(sentence) <= size else []
        current.append(sentence)
    if current:
        windows.append("".join(current))
    return windows[:WINDOWS]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SyncReport:
    added: int = 0
    removed: int = 0
    embedded: int = 0  # windows that were not in the embedding cache


def insert_ignoring_duplicates(session: Session, rows: list[dict]) -> None:
    """Bulk insert into the embedding cache; another instance may have cached the same text."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for start in range(0, len(rows), 1000):
        session.execute(insert(EmbeddingCache).on_conflict_do_nothing(), rows[start : start + 1000])


class IndexStore:
    def __init__(self, directory: Path, embedder: Callable[[], Embedder], tokenizer: Tokenizer) -> None:
        self.directory = directory
        self._embedder = embedder
        self.tokenizer = tokenizer
        self.keyword = KeywordIndex()
        self.vectors: VectorIndex | None = None

    @property
    def embedder(self) -> Embedder:
        return self._embedder()

    # -- files ---------------------------------------------------------------------------
    def load(self) -> bool:
        """Load index files; False when they are missing, unreadable or for another model."""
        meta_path = self.directory / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            keyword = KeywordIndex.load(self.directory)
            vectors = VectorIndex.load(self.directory / "vectors.faiss")
        except (OSError, ValueError, RuntimeError) as exc:
            log.info("index files not usable (%s); rebuilding from the database", exc)
            return False
        if meta.get("model_id") != self.embedder.model_id:
            log.info("index was built with %s; re-indexing vectors", meta.get("model_id"))
            self.keyword = keyword
            self.vectors = None
            return False
        self.keyword, self.vectors = keyword, vectors
        return True

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.keyword.save(self.directory)
        if self.vectors is not None:
            self.vectors.save(self.directory / "vectors.faiss")
        meta = {"model_id": self.embedder.model_id, "passages": len(self.keyword)}
        tmp = self.directory / f"meta.{os.getpid()}-{threading.get_ident()}.tmp.json"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, self.directory / "meta.json")

    # -- consistency with the database ---------------------------------------------------
    def sync(self, sessions: sessionmaker[Session], progress: Progress | None = None) -> SyncReport:
        """Make both indexes hold exactly the indexable passages of the database."""
        with sessions() as session:
            db_ids = set(session.scalars(select(Passage.id).where(Passage.garbled.is_(False))))
        if self.vectors is None:
            self.vectors = VectorIndex(self.embedder.dim)
        have_kw, have_vec = self.keyword.id_set(), self.vectors.passage_ids()
        stale = (have_kw | have_vec) - db_ids
        missing = db_ids - (have_kw & have_vec)
        report = SyncReport()
        if stale:
            self.remove(stale)
            report.removed = len(stale)
        if missing:
            report.embedded = self.add_ids(sessions, sorted(missing), progress)
            report.added = len(missing)
        if stale or missing:
            self.save()
        return report

    def add_ids(self, sessions: sessionmaker[Session], ids: list[int], progress: Progress | None = None) -> int:
        done = 0
        embedded = 0
        for start in range(0, len(ids), 256):
            chunk = ids[start : start + 256]
            with sessions() as session:
                rows = session.execute(select(Passage.id, Passage.norm_text).where(Passage.id.in_(chunk))).all()
            embedded += self.add([(pid, text) for pid, text in rows], sessions)
            done += len(chunk)
            if progress:
                progress(done, len(ids))
        return embedded

    def add(self, passages: list[tuple[int, str]], sessions: sessionmaker[Session]) -> int:
        """Index passages (id, index text); returns how many windows had to be embedded."""
        if not passages:
            return 0
        ids = [pid for pid, _ in passages]
        self.remove(ids)
        self.keyword.add(ids, [self.tokenizer.tokens(text) for _, text in passages])
        owners: list[int] = []
        window_nos: list[int] = []
        texts: list[str] = []
        for pid, text in passages:
            for n, window in enumerate(windows_of(text)):
                owners.append(pid)
                window_nos.append(n)
                texts.append(window)
        vectors, embedded = self.embed_cached(texts, sessions)
        if self.vectors is None:
            self.vectors = VectorIndex(self.embedder.dim)
        self.vectors.add(owners, window_nos, vectors)
        return embedded

    def remove(self, ids: Iterable[int]) -> None:
        ids = set(ids)
        self.keyword.remove(ids)
        if self.vectors is not None:
            self.vectors.remove(ids)

    # -- embedding cache -----------------------------------------------------------------
    def embed_cached(self, texts: list[str], sessions: sessionmaker[Session]) -> tuple[np.ndarray, int]:
        embedder = self.embedder
        hashes = [text_hash(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with sessions() as session:
            unique = list(set(hashes))
            for start in range(0, len(unique), 500):
                rows = session.execute(
                    select(EmbeddingCache.content_hash, EmbeddingCache.vector).where(
                        EmbeddingCache.model_id == embedder.model_id,
                        EmbeddingCache.content_hash.in_(unique[start : start + 500]),
                    )
                ).all()
                for digest, blob in rows:
                    found[digest] = np.frombuffer(blob, dtype=np.float32)
        todo = {h: t for h, t in zip(hashes, texts) if h not in found}
        if todo:
            order = list(todo)
            fresh = embedder.encode_passages([todo[h] for h in order])
            rows = []
            for digest, vector in zip(order, fresh):
                found[digest] = vector
                rows.append({"content_hash": digest, "model_id": embedder.model_id, "dim": embedder.dim,
                             "vector": np.asarray(vector, dtype=np.float32).tobytes()})
            with sessions() as session, session.begin():
                insert_ignoring_duplicates(session, rows)
        matrix = np.vstack([found[h] for h in hashes]) if hashes else np.zeros((0, embedder.dim), np.float32)
        return matrix.astype(np.float32), len(todo)
