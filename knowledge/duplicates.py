"""Identical and near-identical documents under different titles.

A repost of a news item under another headline, or the same speech saved twice, would crowd
the original out of the citations. Content is compared on the index text (no pinyin, no
boilerplate, Simplified), so script, spacing and site chrome do not hide a copy.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import Document, Passage
from knowledge.parse import ParsedDocument
from knowledge.readers import IngestError

NEAR_DUPLICATE = 0.85  # shingle Jaccard above which two texts are the same content
SHINGLE = 8
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Duplicate:
    title: str
    similarity: float  # 1.0 identical
    document_id: int
    content_hash: str  # of the loaded document when it was found: a later change makes a decision stale

    @property
    def identical(self) -> bool:
        return self.similarity >= 0.999

    def likeness(self) -> str:
        """"相同" or "几乎相同（相似度 93%）", for messages."""
        return "相同" if self.identical else f"几乎相同（相似度 {self.similarity:.0%}）"


class DuplicateContent(IngestError):
    """An upload refused because ``duplicate`` already holds its content; ``title`` is the upload's."""

    def __init__(self, title: str, duplicate: Duplicate, message: str) -> None:
        super().__init__("duplicate", message)
        self.title = title
        self.duplicate = duplicate


def _canonical(texts: list[str]) -> str:
    return "".join(_SPACE.sub("", t) for t in texts)


def shingles(text: str) -> set[int]:
    if len(text) <= SHINGLE:
        return {zlib.crc32(text.encode("utf-8"))} if text else set()
    return {zlib.crc32(text[i:i + SHINGLE].encode("utf-8")) for i in range(len(text) - SHINGLE + 1)}


def find_duplicate(session: Session, parsed: ParsedDocument) -> Duplicate | None:
    """The loaded document (under another title) with the same or nearly the same content."""
    same = session.execute(select(Document.title, Document.id, Document.content_hash).where(
        Document.content_hash == parsed.content_hash, Document.title != parsed.title).limit(1)).first()
    if same is not None:
        return Duplicate(same.title, 1.0, same.id, same.content_hash)
    text = _canonical([s.index_text for s in parsed.segments if not s.garbled])
    if not text:
        return None
    mine = shingles(text)
    lengths = session.execute(
        select(Passage.document_id, Passage.norm_text).join(Document)
        .where(Document.title != parsed.title, Document.bundled.is_(False), Passage.garbled.is_(False))
        .order_by(Passage.document_id, Passage.ordinal)
    ).all()
    by_doc: dict[int, list[str]] = {}
    for doc_id, norm in lengths:
        by_doc.setdefault(doc_id, []).append(norm)
    best: tuple[float, int] | None = None
    for doc_id, texts in by_doc.items():
        other = _canonical(texts)
        if not other or not 0.6 <= len(other) / len(text) <= 1 / 0.6:
            continue
        theirs = shingles(other)
        similarity = len(mine & theirs) / len(mine | theirs)
        if similarity >= NEAR_DUPLICATE and (best is None or similarity > best[0]):
            best = (similarity, doc_id)
    if best is None:
        return None
    found = session.execute(select(Document.title, Document.content_hash).where(Document.id == best[1])).first()
    return Duplicate(found.title, best[0], best[1], found.content_hash) if found else None
