"""Database operations on documents and their passages (no indexing here)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.models import DocStatus, Document, Passage

if TYPE_CHECKING:  # parsing pulls in the text cleaners; listing and removing documents do not need them
    from knowledge.parse import ParsedDocument


def passage_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def in_jurisdiction(document_region: str, jurisdiction: str | None) -> bool:
    """Whether a local document belongs to the deployment's region ("北京市" matches "北京")."""
    return bool(jurisdiction) and document_region.startswith(jurisdiction[:2])


@dataclass
class ReplaceResult:
    document_id: int
    title: str
    outcome: str  # "new" | "replaced" | "unchanged"
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    garbled: int = 0


def replace_document(session: Session, parsed: ParsedDocument, actor: str, *, bundled: bool = False) -> ReplaceResult:
    """Insert ``parsed`` or replace the document of the same title; unchanged text is a no-op.

    Passages whose text did not change keep their ids, so their vectors stay in the index and
    nothing is re-embedded; only changed passages are removed and added.
    """
    existing = session.scalar(select(Document).where(Document.title == parsed.title))
    if existing is not None and existing.content_hash == parsed.content_hash:
        return ReplaceResult(existing.id, existing.title, "unchanged")

    if existing is None:
        doc = Document(title=parsed.title)
        session.add(doc)
        outcome = "new"
    else:
        doc = existing
        outcome = "replaced"
    doc.kind = parsed.kind
    doc.issuing_body = parsed.issuing_body
    doc.version = parsed.version
    doc.effective_date = parsed.effective_date
    doc.published_on = parsed.published_on
    doc.jurisdiction = parsed.jurisdiction
    doc.source_name = parsed.source_name
    doc.content_hash = parsed.content_hash
    doc.bundled = bundled
    doc.loaded_by = actor
    doc.status = DocStatus.CURRENT
    session.flush()

    old_by_key: dict[tuple, Passage] = {}
    for p in list(doc.passages) if existing is not None else []:
        old_by_key.setdefault((p.path, p.article, p.content_hash), p)
    keep: set[int] = set()
    new_passages: list[Passage] = []
    for ordinal, seg in enumerate(parsed.segments):
        digest = passage_hash(seg.text)
        old = old_by_key.pop((seg.path, seg.article, digest), None)
        if old is not None:
            old.ordinal = ordinal
            keep.add(old.id)
            continue
        passage = Passage(
            document_id=doc.id, ordinal=ordinal, path=seg.path, article=seg.article,
            article_no=seg.article_no, article_sub=seg.article_sub or 0, text=seg.text,
            norm_text=seg.index_text, content_hash=digest, garbled=seg.garbled,
        )
        session.add(passage)
        new_passages.append(passage)
    removed = [p.id for p in old_by_key.values()]
    for p in old_by_key.values():
        session.delete(p)
    session.flush()
    result = ReplaceResult(
        doc.id, doc.title, outcome,
        added=[p.id for p in new_passages if not p.garbled],
        removed=removed,
        garbled=sum(1 for s in parsed.segments if s.garbled),
    )
    audit.record(session, actor, f"document.{'add' if outcome == 'new' else 'replace'}", "document", doc.title, {
        "source": parsed.source_name, "content_hash": parsed.content_hash, "passages": len(parsed.segments),
        "added": len(new_passages), "removed": len(removed), "garbled": result.garbled,
    })
    return result


def remove_document(session: Session, title: str, actor: str) -> list[int] | None:
    """Delete a document; returns the removed passage ids, or None when there is no such title."""
    doc = session.scalar(select(Document).where(Document.title == title))
    if doc is None:
        return None
    ids = list(session.scalars(select(Passage.id).where(Passage.document_id == doc.id)))
    session.delete(doc)
    audit.record(session, actor, "document.remove", "document", title, {"passages": len(ids)})
    return ids


def set_status(session: Session, title: str, status: str, actor: str) -> bool:
    if status not in DocStatus.ALL:
        raise ValueError(status)
    doc = session.scalar(select(Document).where(Document.title == title))
    if doc is None:
        return False
    old = doc.status
    doc.status = status
    audit.record(session, actor, "document.status", "document", title, {"from": old, "to": status})
    return True


def list_documents(session: Session) -> list[tuple[Document, int]]:
    rows = session.execute(
        select(Document, func.count(Passage.id))
        .outerjoin(Passage, Passage.document_id == Document.id)
        .group_by(Document.id)
        .order_by(Document.bundled.desc(), Document.title)
    ).all()
    return [(doc, count) for doc, count in rows]


def find_article(session: Session, title: str, article_no: int, article_sub: int = 0) -> Passage | None:
    return session.scalar(
        select(Passage).join(Document).where(
            Document.title == title, Passage.article_no == article_no, Passage.article_sub == article_sub
        ).order_by(Passage.ordinal).limit(1)
    )
