"""The knowledge base service: ingest, remove, search and answer, shared by every front end.

Writes go to the database first (one transaction per document), then to the in-memory indexes,
then to the index files. Readers see either the old or the new state: index mutations and
searches are serialised by one lock, and a failed ingest never touches the indexes.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from index.answer import (
    QUOTE_CACHE_SIZE, Answer, Citation, clip_sentences, compose, not_loaded_answer, prepare_quote, quote,
    reference_answer, second_part,
)
from index.embedding_model import Embedder
from index.index_store import IndexStore, windows_of
from index.query import AnalyzedQuery, ArticleRef, QueryAnalyzer, TypoRepair, load_pinyin_tables
from index.query_batcher import QueryBatcher
from index.searcher import TITLE_TOPIC_KINDS, DocInfo, PassageInfo, Searcher, compact, sector_of
from index.tokenize import Tokenizer
from knowledge import bundled, documents
from knowledge.config import Settings
from knowledge.cleaning import BOILERPLATE_KINDS, readable
from knowledge.db import transaction
from knowledge.duplicates import Duplicate, DuplicateContent, find_duplicate
from knowledge.models import DUPLICATE_POLICIES, DocStatus, Document, Passage
from knowledge.numerals import parse_article_ref
from knowledge.parse import ParsedDocument, parse_bundled, parse_document
from knowledge.places import place_names
from knowledge.textnorm import normalize
from knowledge.readers import IngestError
from knowledge.writer_lock import writer_lock

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)

# Calibrated with bench/calibrate_abstention.py on the dev questions against everyday off-topic
# questions: off-topic Chinese questions reach a best cosine of ~0.876, answerable ones start at
# ~0.877, English answerable ones sit at 0.79-0.83. So a very close match is enough on its own; a
# looser one counts only when the question uses work-safety vocabulary.
RELEVANT_DENSE = 0.885
RELEVANT_DENSE_DOMAIN = 0.78
# A question phrase found verbatim in the best passage counts as an answer when it is at least
# this long and built around a word no more common than this share of passages.
KEY_PHRASE_CHARS = 3
KEY_PHRASE_DEPTH = 3  # among the best this many passages
RARE_TERM_SHARE = 0.01
RARE_TERM_MIN_DF = 3
QUESTION_WORDS = frozenset({"什么", "怎么", "怎么样", "如何", "哪些", "哪里", "多少", "多久", "为什么", "是否", "可以",
                            "需要", "要求", "规定", "有关", "哪个", "哪几", "几个"})
SYNC_INTERVAL_S = 30.0
EMBED_BATCH = 64  # windows per progress report while embedding an upload


@dataclass
class IngestReport:
    title: str
    source: str
    outcome: str  # new | replaced | unchanged | failed
    passages: int = 0
    added: int = 0
    removed: int = 0  # passages gone: the previous version's, and a replaced duplicate's
    embedded: int = 0
    problems: list[str] = field(default_factory=list)
    boilerplate: dict[str, int] = field(default_factory=dict)  # removed lines by kind
    garbled_runs: int = 0
    repaired_runs: int = 0
    replaced_duplicate: str | None = None  # the document this one replaced (--duplicate replace)
    duplicate_of: str | None = None  # kept alongside a duplicate (--duplicate keep)

    def to_json(self) -> dict:
        return self.__dict__.copy()

    def cleaning_summary(self) -> str:
        """One line for the admin: what was taken out of the page (counts by kind)."""
        parts = [f"{BOILERPLATE_KINDS.get(k, k)} {n} 行"
                 for k, n in sorted(self.boilerplate.items(), key=lambda kv: -kv[1])]
        if self.garbled_runs:
            parts.append(f"乱码片段 {self.garbled_runs} 处（还原 {self.repaired_runs} 处）")
        return "已去除：" + "，".join(parts) if parts else ""



class QuestionError(ValueError):
    """A question that cannot be searched; ``message`` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KnowledgeBase:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], embedder: Embedder | None = None) -> None:
        if embedder is not None:
            self.embedder = embedder  # shares one loaded model between instances (tests, benchmarks)
        self.settings = settings
        self.sessions = sessions
        self.tokenizer = Tokenizer()
        self.store = IndexStore(settings.index_dir, lambda: self.embedder, self.tokenizer)
        self.searcher = Searcher(self.store, settings.jurisdiction)
        self._lock = threading.RLock()
        self._analyzer: QueryAnalyzer | None = None
        self._last_sync = 0.0
        self.query_encoder = QueryBatcher(lambda texts: self.embedder.encode_queries(list(texts)))
        self._quotables: dict[int, _Quotable] = {}  # see _quotable_passages
        self._articles: dict[tuple[str, int, int], Citation | None] = {}  # see article
        self._known_states: frozenset[tuple[int, str]] = frozenset()  # see _document_states
        self._generation = 0  # counts document changes seen (see article)

    @cached_property
    def embedder(self) -> Embedder:
        return Embedder(self.settings.embedding_model, self.settings.models_dir, backend=self.settings.embedding_backend)

    # -- start-up ------------------------------------------------------------------------
    def open(self, progress: Progress | None = None) -> None:
        """Load or repair the indexes and, on first run, load the bundled laws."""
        with self._lock:
            if progress:  # the first start converts the model, later ones load it: seconds, not silence
                progress("加载嵌入模型", 0, 1)
            self.embedder.model_id
            if progress:
                progress("加载嵌入模型", 1, 1)
            self.store.load()
            self.store.sync(self.sessions, _stage(progress, "索引"))
            self._refresh_metadata()
            self._last_sync = time.monotonic()
        if self.settings.load_bundled:
            self.ensure_bundled(progress)

    def ensure_bundled(self, progress: Progress | None = None) -> list[IngestReport]:
        digest = bundled.corpus_digest()
        if bundled.is_loaded(self.settings.data_dir, digest):
            return []
        if progress:
            progress("读取内置法规", 0, 1)
        parsed = list(parse_bundled())
        if progress:
            progress("读取内置法规", 1, 1)
            progress("载入内置法规", 0, len(parsed))
        reports = []
        for n, doc in enumerate(parsed, 1):
            reports.append(self._ingest_parsed(doc, "system", bundled=True))
            if progress:
                progress("载入内置法规", n, len(parsed))
        bundled.mark_loaded(self.settings.data_dir, digest)
        return reports

    def _refresh_metadata(self) -> None:
        with self.sessions() as session:
            docs = session.execute(select(Document.id, Document.title, Document.kind, Document.jurisdiction,
                                          Document.status)).all()
            passages = session.execute(select(Passage.id, Passage.document_id, Passage.path, Passage.norm_text)).all()
        self.searcher.docs = {d.id: DocInfo(d.title, d.kind, d.jurisdiction, d.status == DocStatus.CURRENT,
                                            place_names(d.jurisdiction),
                                            sector_of(d.title) if d.kind in _STATUTES else None,
                                            self._topic_terms(d.title, d.jurisdiction)
                                            if d.kind in TITLE_TOPIC_KINDS else frozenset(), d.status)
                              for d in docs}
        self._known_states = frozenset((d.id, d.status) for d in docs)
        self._quotables.clear()
        self._articles.clear()
        self._generation += 1
        self.searcher.passages = {p.id: PassageInfo(p.document_id, p.path, compact(p.norm_text)) for p in passages}
        vocab = self.store.keyword.terms()
        self._analyzer = QueryAnalyzer(self.tokenizer, [d.title for d in docs], TypoRepair(vocab))

    def _topic_terms(self, title: str, jurisdiction: str) -> frozenset[str]:
        """Index tokens of what a whole document is about: its title and its place's names (a
        company "佛山市南海区恒达化工" in one paragraph must not make that paragraph the answer to
        every question naming 南海区; see Searcher._title_terms_per_document)."""
        names = [title, *place_names(jurisdiction)]
        return frozenset(t for name in names for t in self.tokenizer.tokens(normalize(name)))

    def refresh_if_stale(self) -> None:
        """Pick up documents another instance (sharing the database) has loaded or removed."""
        if time.monotonic() - self._last_sync < SYNC_INTERVAL_S:
            return
        with self._lock:
            report = self.store.sync(self.sessions)
            if report.added or report.removed or self._document_states() != self._known_states:
                self._refresh_metadata()
            self._last_sync = time.monotonic()

    def _document_states(self) -> frozenset[tuple[int, str]]:
        """(id, status) of every document: a status set by another process (已废止) changes it."""
        with self.sessions() as session:
            return frozenset((row.id, row.status) for row in session.execute(select(Document.id, Document.status)))

    # -- ingestion -----------------------------------------------------------------------
    def ingest(self, path: Path, actor: str, *, title: str | None = None, kind: str | None = None,
               progress: Progress | None = None, duplicate: str = "refuse",
               expected_duplicate: Duplicate | None = None) -> IngestReport:
        """Parse, store and index one file. Raises IngestError with a user-facing message.

        ``progress`` is called from the calling thread at the 解析 / 向量化 / 写入索引 stages.
        ``duplicate``: what to do when another title holds the same or nearly the same content:
        refuse (DuplicateContent, an IngestError), replace (the other document is removed) or keep
        (both stay). ``expected_duplicate`` is the document a replace/keep decision was made about
        (after an earlier refusal); if that document has changed or another one is found instead,
        nothing is loaded (IngestError "duplicate_changed").
        """
        if duplicate not in DUPLICATE_POLICIES:
            raise ValueError(duplicate)
        if progress:
            progress("解析", 0, 1)
        parsed = parse_document(path, title=title, kind=kind, max_bytes=self.settings.max_upload_bytes)
        if not any(not s.garbled for s in parsed.segments):
            raise IngestError("no_text", "文件中没有可用的正文（可能全部是乱码）。请检查文件编码后重新上传。")
        # Judged once before embedding, so a refused copy costs no embedding, and again under the
        # writer lock (in _ingest_parsed), where no other writer can load a copy in between.
        with self.sessions() as session:
            _judge_duplicate(parsed, find_duplicate(session, parsed), duplicate, expected_duplicate)
        return self._ingest_parsed(parsed, actor, progress=progress, duplicate=duplicate,
                                   expected_duplicate=expected_duplicate)

    def _ingest_parsed(self, parsed: ParsedDocument, actor: str, bundled: bool = False,
                       progress: Progress | None = None, duplicate: str = "keep",
                       expected_duplicate: Duplicate | None = None) -> IngestReport:
        # Embed before the database commit, so a failure leaves everything as it was; and outside
        # the lock, so questions are answered while a long upload is being embedded. The cache
        # tolerates concurrent inserts of the same text.
        texts = [s.index_text for s in parsed.segments if not s.garbled]
        windows = [w for t in texts for w in windows_of(t)]
        # Batches only when someone watches: one call is a little faster, batches can report.
        step = max(1, len(windows) if progress is None else EMBED_BATCH)
        embedded = 0
        for start in range(0, len(windows), step):
            embedded += self.store.embed_cached(windows[start:start + step], self.sessions)[1]
            if progress:
                progress("向量化", min(start + step, len(windows)), len(windows))
        if progress:
            progress("写入索引", 0, 1)
        twin: Duplicate | None = None
        with self.writing():
            if not bundled:
                with self.sessions() as session:
                    twin = find_duplicate(session, parsed)
                _judge_duplicate(parsed, twin, duplicate, expected_duplicate)
            replaced = twin if duplicate == "replace" else None
            with self._lock:
                # One transaction: the new document and the removal of the one it replaces are
                # committed together or not at all.
                with transaction(self.sessions) as session:
                    result = documents.replace_document(session, parsed, actor, bundled=bundled)
                    gone = (documents.remove_document(session, replaced.title, actor) or []) if replaced else []
                    added = [(p.id, p.norm_text) for p in session.scalars(
                        select(Passage).where(Passage.id.in_(result.added)))] if result.added else []
                self.store.remove([*result.removed, *gone])
                self.store.add(added, self.sessions)
                self.store.save()
                self._refresh_metadata()
        return IngestReport(
            title=parsed.title, source=parsed.source_name, outcome=result.outcome,
            passages=len(parsed.segments), added=len(result.added), removed=len(result.removed) + len(gone),
            embedded=embedded, problems=list(parsed.problems), boilerplate=dict(parsed.boilerplate),
            garbled_runs=parsed.garbled_runs, repaired_runs=parsed.repaired_runs,
            replaced_duplicate=replaced.title if replaced else None,
            duplicate_of=twin.title if twin is not None and replaced is None else None,
        )

    def writing(self) -> AbstractContextManager[None]:
        """The data folder's cross-process writer lock, with this instance's index brought up to date.

        Another process may have committed documents since this one loaded its index; syncing
        under the lock means the index files saved afterwards hold both processes' work.
        """
        return _synced(self)

    def remove(self, title: str, actor: str) -> int | None:
        with self.writing(), self._lock:
            with transaction(self.sessions) as session:
                ids = documents.remove_document(session, title, actor)
            if ids is None:
                return None
            self.store.remove(ids)
            self.store.save()
            self._refresh_metadata()
        return len(ids)

    def set_status(self, title: str, status: str, actor: str) -> bool:
        with self.writing():
            with transaction(self.sessions) as session:
                ok = documents.set_status(session, title, status, actor)
            with self._lock:
                self._refresh_metadata()
        return ok

    def list_documents(self) -> list[tuple[Document, int]]:
        with self.sessions() as session:
            return documents.list_documents(session)

    # -- questions -----------------------------------------------------------------------
    def analyze(self, question: str) -> AnalyzedQuery:
        question = (question or "").strip()
        if not question:
            raise QuestionError("问题是空的。请直接输入要问的内容，例如：动火作业要注意什么？")
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(
                f"问题太长了（{len(question)} 字）。请控制在 {self.settings.max_question_chars} 字以内，只问一个具体问题。"
            )
        if self._analyzer is None:
            raise RuntimeError("KnowledgeBase.open() must be called before asking questions")
        return self._analyzer.analyze(question)

    def search(self, question: str, k: int = 10) -> list[Citation]:
        query = self.analyze(question)
        return self._search(query, k)[0]

    def _search(self, query: AnalyzedQuery, k: int) -> tuple[list[Citation], bool]:
        self.refresh_if_stale()
        vector = self.query_encoder.encode(query.dense_text)
        with self._lock:
            ranked = self.searcher.rank(query, vector, k)
            top_dense = self._top_dense(vector)
        relevant = bool(ranked) and (
            top_dense >= RELEVANT_DENSE
            or (query.domain and top_dense >= RELEVANT_DENSE_DOMAIN)
            or bool(query.documents)
        )
        citations = self._citations(query, [(r.passage_id, r.score) for r in ranked])
        if not relevant and citations:
            with self._lock:
                relevant = any(self._states_key_term(query, c.text) for c in citations[:KEY_PHRASE_DEPTH])
        return citations, relevant

    def _states_key_term(self, query: AnalyzedQuery, text: str) -> bool:
        """Whether ``text`` contains, word for word, a distinctive phrase of the question (three
        characters or more around a word that few passages use): "排名末位", "全覆盖排查". A text
        that says what the question names answers it, however loosely the two embed."""
        question = query.dense_text
        body = normalize(readable(text))
        rare_df = max(RARE_TERM_MIN_DF, int(len(self.store.keyword) * RARE_TERM_SHARE))
        for token in set(self.tokenizer.tokens(question)):
            if len(token) < 2 or token not in body or token in QUESTION_WORDS:
                continue
            if self.store.keyword.document_frequency(token) > rare_df:
                continue
            start = question.find(token)
            if start < 0:
                continue
            lo, hi = start, start + len(token)
            while lo > 0 and question[lo - 1:hi] in body:
                lo -= 1
            while hi < len(question) and question[lo:hi + 1] in body:
                hi += 1
            if hi - lo >= KEY_PHRASE_CHARS:
                return True
        return False

    def _top_dense(self, vector) -> float:  # type: ignore[no-untyped-def]
        vectors = self.store.vectors
        return float(vectors.search(vector, 1).scores[0]) if vectors is not None and len(vectors) else 0.0

    def _citations(self, query: AnalyzedQuery, ranked: list[tuple[int, float]]) -> list[Citation]:
        if not ranked:
            return []
        rows = self._quotable_passages([pid for pid, _ in ranked])
        out = []
        seen: set[str] = set()
        for pid, score in ranked:
            passage, info = rows.get(pid), self.searcher.passages.get(pid)
            doc = self.searcher.docs.get(info.document_id) if info is not None else None
            if passage is None or info is None or doc is None:
                continue
            # A copy of a passage (a repost kept alongside its original) is never cited twice.
            if passage.key in seen:
                continue
            seen.add(passage.key)
            excerpt = quote(readable(passage.text), query, self.tokenizer)
            out.append(Citation(
                document=doc.title, article=passage.article, score=score,
                excerpt=excerpt.text, excerpt_tokens=excerpt.tokens, text=passage.text,
                path=readable(info.path), passage_id=pid, label=_label(doc, self.settings.jurisdiction),
                article_no=passage.article_no,
            ))
        return out

    def _quotable_passages(self, ids: list[int]) -> dict[int, _Quotable]:
        """What citations need of these passages beyond ``searcher.passages`` (document, path),
        from memory where it can be.

        Stored passages never change (a new version of a document is new passages), so their
        text can be kept; it is dropped whenever passages come or go. One database round trip
        through the ORM per answer was a third of an answer's time outside the encoder."""
        with self._lock:
            missing = [pid for pid in ids if pid not in self._quotables]
            if missing:
                with self.sessions() as session:
                    found = session.execute(
                        select(Passage.id, Passage.article, Passage.article_no, Passage.text, Passage.norm_text)
                        .where(Passage.id.in_(missing))
                    ).all()
                for row in found:
                    self._quotables[row.id] = _Quotable(row.article, row.article_no, row.text,
                                                        "".join(row.norm_text.split()))
                while len(self._quotables) > QUOTE_CACHE_SIZE:
                    del self._quotables[next(iter(self._quotables))]
            return {pid: self._quotables[pid] for pid in ids if pid in self._quotables}

    def article(self, document: str, article_no: int, article_sub: int = 0) -> Citation | None:
        if not ArticleRef(document, article_no, article_sub).possible:
            return None  # also keeps numbers the database cannot hold out of the query
        self.refresh_if_stale()
        key = (document, article_no, article_sub)
        # Duty answers cite the same legal bases again and again; an article changes only with
        # its document, and any document change empties this (see _refresh_metadata).
        with self._lock:
            if key in self._articles:
                found = self._articles[key]
                return replace(found) if found is not None else None
            generation = self._generation
        with self.sessions() as session:
            passage = documents.find_article(session, document, article_no, article_sub)
            found = self._full_citation(passage) if passage is not None else None
        with self._lock:
            if generation == self._generation:  # not read across a document change
                if len(self._articles) >= QUOTE_CACHE_SIZE:
                    self._articles.clear()
                self._articles[key] = found
        return replace(found) if found is not None else None

    def passage(self, passage_id: int) -> Citation | None:
        """One stored passage by id (the 查看原文 button of a chat answer)."""
        with self.sessions() as session:
            passage = session.get(Passage, passage_id)
            return self._full_citation(passage) if passage is not None else None

    def article_by_label(self, document: str, article: str) -> Citation | None:
        """An article by its label as cited, e.g. ("安全生产法", "第四十三条")."""
        ref = parse_article_ref(article)
        return self.article(document, *ref) if ref else None

    def _full_citation(self, passage: Passage) -> Citation:
        doc = passage.document
        return Citation(document=doc.title, article=passage.article, score=1.0,
                        excerpt=clip_sentences(readable(passage.text)),
                        text=passage.text, path=readable(passage.path), passage_id=passage.id,
                        label=_label(doc, self.settings.jurisdiction), article_no=passage.article_no)

    def prepare(self) -> int:
        """Do now what the first questions would otherwise wait for; returns how many passages
        were prepared for quoting.

        Quoting a passage for the first time (cleaning, sentence splitting, segmenting each
        sentence) costs several times the later quotes, and the pinyin tables that typo repair
        needs take a third of a second to load: both would fall on the first users. A
        long-running front end calls this once in the background."""
        load_pinyin_tables()
        with self.sessions() as session:
            texts = list(session.scalars(
                select(Passage.text).join(Passage.document)
                .where(Document.status == DocStatus.CURRENT, Passage.garbled.is_(False))
                .order_by(Passage.id).limit(QUOTE_CACHE_SIZE)
            ))
        for text in texts:
            prepare_quote(readable(text), self.tokenizer)
        return len(texts)

    def answer(self, question: str, k: int = 10) -> Answer:
        query = self.analyze(question)
        if query.reference:
            ref = query.reference
            found = self.article(ref.document, ref.article_no, ref.article_sub)
            if found is not None:
                return reference_answer(question, found)
            return Answer(question, f"《{ref.document}》中没有{ref.label}。请核对条号。", True, [], kind="reference")
        citations, relevant = self._search(query, k)
        if not relevant:
            answer = compose(question, [])
        else:
            answer = compose(question, citations, also=second_part(citations, query, self.tokenizer))
        if query.unknown_documents:
            return not_loaded_answer(answer, query.unknown_documents)
        return answer


_STATUTES = frozenset({"law", "regulation", "local_regulation", "rule", "judicial_interpretation"})


@contextmanager
def _synced(kb: KnowledgeBase) -> Iterator[None]:
    with writer_lock(kb.settings.writer_lock_path, kb.settings.writer_lock_wait):
        with kb._lock:
            report = kb.store.sync(kb.sessions)
            if report.added or report.removed:
                kb._refresh_metadata()
            kb._last_sync = time.monotonic()
        yield


def _judge_duplicate(parsed: ParsedDocument, twin: Duplicate | None, duplicate: str,
                     expected: Duplicate | None) -> None:
    """Raise the IngestError that ``duplicate`` (refuse/replace/keep) calls for, given the loaded
    document ``twin`` with the same content; ``expected`` is the twin a replace/keep decision was
    made about, which must still be the one found."""
    if expected is not None and (
            twin is None or (twin.document_id, twin.content_hash) != (expected.document_id, expected.content_hash)):
        raise IngestError(
            "duplicate_changed",
            f"《{expected.title}》在此期间已被修改或删除，《{parsed.title}》未载入。如仍需载入，请重新上传。",
        )
    if twin is not None and duplicate == "refuse":
        raise DuplicateContent(
            parsed.title, twin,
            f"《{parsed.title}》的内容与已载入的《{twin.title}》{twin.likeness()}，未重复载入。"
            f"如要用它替换《{twin.title}》，请加 --duplicate replace；确需两份都保留，请加 --duplicate keep。",
        )


@dataclass(frozen=True)
class _Quotable:
    article: str | None
    article_no: int | None
    text: str
    key: str  # the passage's normalised text without spaces: copies have the same key


def _label(doc: Document | DocInfo, jurisdiction: str | None) -> str:
    if doc.status != DocStatus.CURRENT:
        return doc.status
    if doc.kind == "local_regulation" and not documents.in_jurisdiction(doc.jurisdiction, jurisdiction):
        return f"{doc.jurisdiction}地方性法规"
    return ""


def _stage(progress: Progress | None, stage: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)
