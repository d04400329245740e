"""The objects a front end needs, built once from Settings and shared by CLI and Telegram.

Everything is built on first use, and the retrieval stack (``index.*``: the embedding model,
faiss, jieba) is imported only inside the properties that need it, so that a command which only
reads or writes the database starts in well under a second. Keep it that way: no ``index`` import
at module level here.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from knowledge.config import Settings
from knowledge.writer_lock import writer_lock

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from index.embedding_model import Embedder
    from index.knowledge_base import KnowledgeBase, Progress
    from knowledge.duties.answer import DutyAnswerer
    from knowledge.ledger import LedgerService


@dataclass
class Runtime:
    settings: Settings = field(default_factory=Settings)
    # Front ends set this to show progress their own way (a bar in a terminal, an edited message in chat).
    progress: Progress | None = None
    # A loaded model to share (tests and benchmarks run several instances in one process).
    embedder: Embedder | None = None

    @cached_property
    def engine(self) -> Engine:
        from knowledge.db import make_engine, migrate

        self.settings.ensure_dirs()
        engine = make_engine(self.settings.db_url, busy_timeout_s=self.settings.db_busy_timeout)
        migrate(engine)
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from knowledge.db import session_factory

        return session_factory(self.engine)

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        from index.knowledge_base import KnowledgeBase

        kb = KnowledgeBase(self.settings, self.sessions, embedder=self.embedder)
        kb.open(self.progress)
        return kb

    @cached_property
    def duties(self) -> DutyAnswerer:
        from knowledge import bundled
        from knowledge.duties.answer import DutyAnswerer
        from knowledge.duties.service import ensure_bundled_rules

        if self.settings.load_bundled:
            # The bundled rules cite the bundled laws, so those must be in the database first. Once
            # they are, answering from the rules needs neither the model nor the indexes.
            if not bundled.is_loaded(self.settings.data_dir):
                self.knowledge
            ensure_bundled_rules(self.sessions)
        return DutyAnswerer(self.sessions, self.settings.jurisdiction)

    @cached_property
    def ledger(self) -> LedgerService:
        from index.ledger_basis import KnowledgeSuggester
        from knowledge.ledger import LedgerService

        # Suggestions need the knowledge index; until it has been built (first run of ask/chat/bot)
        # the ledger works without them rather than building it inside a ledger command. The
        # suggester takes factories, so only an operation that asks for suggestions loads the model.
        suggester = None
        if (self.settings.index_dir / "meta.json").exists():
            suggester = KnowledgeSuggester(lambda: self.knowledge, lambda: self.duties)
        return LedgerService(self.sessions, self.settings, suggester=suggester)

    def writer_lock(self) -> AbstractContextManager[None]:
        """The data folder's cross-process writer lock (see knowledge/writer_lock.py)."""
        return writer_lock(self.settings.writer_lock_path, self.settings.writer_lock_wait)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
