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

NEAR_DUPLICATE = 0.85  # shingle Jaccard above which two texts are the same content
SHINGLE = 8
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Duplicate:
    title: str
    similarity: float  # 1.0 identical

    @property
    def identical(self) -> bool:
        return self.similarity >= 0.999


def _canonical(texts: list[str]) -> str:
    return "".join(_SPACE.sub("", t) for t in texts)


def shingles(text: str) -> set[int]:
    if len(text) <= SHINGLE:
        return {zlib.crc32(text.encode("utf-8"))} if text else set()
    return {zlib.crc32(text[i:i + SHINGLE].encode("utf-8")) for i in range(len(text) - SHINGLE + 1)}


def find_duplicate(session: Session, parsed: ParsedDocument) -> Duplicate | None:
    """The loaded document (under another title) with the same or nearly the same content."""
    same = session.scalar(select(Document.title).where(
        Document.content_hash == parsed.content_hash, Document.title != parsed.title).limit(1))
    if same is not None:
        return Duplicate(same, 1.0)
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
    title = session.scalar(select(Document.title).where(Document.id == best[1]))
    return Duplicate(title, best[0]) if title else None
