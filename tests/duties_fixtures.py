"""Test support for duty rules: the bundled laws ingested into a test database (no embeddings)."""
from __future__ import annotations

from functools import lru_cache

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
