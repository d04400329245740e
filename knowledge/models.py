"""ORM models of the knowledge base (documents, passages, embedding cache) and the shared audit log."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from knowledge.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DocStatus:
    CURRENT = "现行有效"
    AMENDED = "已修订"
    REPEALED = "已废止"
    ALL = (CURRENT, AMENDED, REPEALED)


# What an ingest does with content already loaded under another title.
DUPLICATE_POLICIES = ("refuse", "replace", "keep")


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The title identifies a document across versions: a new upload with the same title replaces it.
    title: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    issuing_body: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(100))
    effective_date: Mapped[date | None] = mapped_column(Date)
    published_on: Mapped[date | None] = mapped_column(Date)  # news, speeches, notices
    status: Mapped[str] = mapped_column(String(20), default=DocStatus.CURRENT)
    jurisdiction: Mapped[str] = mapped_column(String(40), default="全国")
    source_name: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    bundled: Mapped[bool] = mapped_column(Boolean, default=False)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(100), default="system")

    passages: Mapped[list[Passage]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Passage.ordinal",
    )


class Passage(Base):
    __tablename__ = "passages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(300), default="")
    article: Mapped[str | None] = mapped_column(String(40))
    article_no: Mapped[int | None] = mapped_column(Integer)
    article_sub: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    norm_text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    garbled: Mapped[bool] = mapped_column(Boolean, default=False)

    document: Mapped[Document] = relationship(back_populates="passages")

    __table_args__ = (Index("ix_passages_doc_article", "document_id", "article_no", "article_sub"),)


class EmbeddingCache(Base):
    """Vectors keyed by (content hash, model id): unchanged text is never embedded twice."""

    __tablename__ = "embedding_cache"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class AuditLog(Base):
    """Every change to documents, rules, units, officials and hazards: who, when, what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)


class PendingUpload(Base):
    """An upload refused as a duplicate, held until an admin decides: replace, keep both or cancel.

    The file is not stored here, only the front end's handle to fetch it again (a Telegram
    file_id), so the decision can be made from any instance sharing the database, after a restart.
    ``version`` goes up with every decision; a button carries the version it was shown with.
    """

    __tablename__ = "pending_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_ref: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))  # as given with the upload, else from the file
    duplicate_title: Mapped[str] = mapped_column(String(300))
    duplicate_id: Mapped[int] = mapped_column(Integer)  # no foreign key: the document may go meanwhile
    duplicate_hash: Mapped[str] = mapped_column(String(64))
    similarity: Mapped[float] = mapped_column(Float)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    decision: Mapped[str | None] = mapped_column(String(20))  # replace | keep | cancel | stale
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
