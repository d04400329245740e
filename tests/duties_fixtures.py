"""Test support for duty rules: the bundled laws ingested into a test database (no embeddings)."""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import pytest
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import transaction
from knowledge.documents import replace_document
from knowledge.parse import ParsedDocument, parse_bundled


@lru_cache(maxsize=1)
def bundled_documents() -> tuple[ParsedDocument, ...]:
    # Parsing the corpus takes seconds (OpenCC); it is pure, so parse once per test session.
    return tuple(parse_bundled())


def ingest_bundled_laws(sessions: sessionmaker[Session]) -> None:
    """Documents and passages of the bundled corpus, as the real ingestion stores them."""
    with transaction(sessions) as session:
        for doc in bundled_documents():
            replace_document(session, doc, "test", bundled=True)


def ingest_laws(sessions: sessionmaker[Session], titles: set[str] | None = None) -> None:
    """Like ``ingest_bundled_laws`` but only the named documents (faster for loader tests)."""
    with transaction(sessions) as session:
        for doc in bundled_documents():
            if titles is None or doc.title in titles:
                replace_document(session, doc, "test", bundled=True)


@pytest.fixture
def kb_sessions(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """A database holding the whole bundled corpus."""
    ingest_bundled_laws(sessions)
    return sessions


@pytest.fixture
def rule_sessions(kb_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The bundled corpus plus the bundled duty rules, as after a first start."""
    from knowledge.duties.service import ensure_bundled_rules

    result = ensure_bundled_rules(kb_sessions)
    assert not result.errors, result.errors[:5]
    return kb_sessions


@pytest.fixture
def ingest_some_laws() -> Callable[[sessionmaker[Session], set[str]], None]:
    """``ingest_laws`` as a fixture, so test modules need not import this plugin module."""
    return ingest_laws
