"""Uploads refused as duplicates, held until an admin decides: replace the other document, keep
both, or cancel.

A front end holds the upload (``hold``) with its own handle to fetch the file again, shows the
choices with the held upload's id and version, and ``claim``s a choice when one is made. A claim
succeeds once: a second press, a press on buttons of an older version, a held upload past its
time, or one whose other document has changed since, is stale and changes nothing. Every
decision is audited under the admin who made it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from knowledge import audit
from knowledge.db import transaction
from knowledge.duplicates import Duplicate
from knowledge.models import Document, PendingUpload, utcnow

HOLD_DAYS = 7
DECISIONS = ("replace", "keep", "cancel")
# Why a claim is refused.
STALE_DECIDED = "decided"  # decided already (a second press, another admin), or an older button
STALE_EXPIRED = "expired"
STALE_MISSING = "missing"
STALE_CHANGED = "changed"  # the other document was changed or removed meanwhile


@dataclass(frozen=True)
class HeldUpload:
    id: int
    version: int
    source_ref: str
    file_name: str
    title: str | None
    duplicate: Duplicate
    uploaded_by: str


@dataclass(frozen=True)
class Claim:
    """The outcome of pressing a choice: ``upload`` to act on, or why the press is ``stale``."""

    upload: HeldUpload | None
    stale: str | None = None


def _held(row: PendingUpload) -> HeldUpload:
    return HeldUpload(
        id=row.id, version=row.version, source_ref=row.source_ref, file_name=row.file_name, title=row.title,
        duplicate=Duplicate(row.duplicate_title, row.similarity, row.duplicate_id, row.duplicate_hash),
        uploaded_by=row.uploaded_by,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)  # SQLite drops it


def hold(sessions: sessionmaker[Session], *, source_ref: str, file_name: str, title: str | None,
         duplicate: Duplicate, actor: str, now: datetime | None = None) -> HeldUpload:
    """Keep a refused upload for a decision; held uploads past their time are dropped meanwhile."""
    now = now or utcnow()
    with transaction(sessions) as session:
        session.execute(delete(PendingUpload).where(PendingUpload.created_at < now - timedelta(days=HOLD_DAYS)))
        row = PendingUpload(
            source_ref=source_ref, file_name=file_name, title=title, duplicate_title=duplicate.title,
            duplicate_id=duplicate.document_id, duplicate_hash=duplicate.content_hash,
            similarity=duplicate.similarity, uploaded_by=actor, created_at=now, version=1,
        )
        session.add(row)
        session.flush()
        return _held(row)


def claim(sessions: sessionmaker[Session], upload_id: int, version: int, decision: str, actor: str,
          now: datetime | None = None) -> Claim:
    """Record ``decision`` for the held upload shown at ``version``, unless the press is stale."""
    if decision not in DECISIONS:
        raise ValueError(decision)
    now = now or utcnow()
    with transaction(sessions) as session:
        row = session.get(PendingUpload, upload_id)
        if row is None:
            return Claim(None, STALE_MISSING)
        if row.decision is not None or row.version != version:
            return Claim(None, STALE_DECIDED)
        if _aware(row.created_at) < now - timedelta(days=HOLD_DAYS):
            return Claim(None, STALE_EXPIRED)
        held = _held(row)
        changed = decision != "cancel" and _changed(session, held.duplicate)
        # Conditional on the version, so that of two simultaneous presses (on any instance
        # sharing the database) exactly one wins.
        won = session.execute(
            update(PendingUpload)
            .where(PendingUpload.id == upload_id, PendingUpload.version == version,
                   PendingUpload.decision.is_(None))
            .values(version=version + 1, decision="stale" if changed else decision, decided_by=actor,
                    decided_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            return Claim(None, STALE_DECIDED)
        if changed:
            return Claim(held, STALE_CHANGED)
        audit.record(session, actor, "upload.duplicate_decision", "upload", upload_id, {
            "decision": decision, "file": held.file_name, "duplicate_of": held.duplicate.title,
            "uploaded_by": held.uploaded_by,
        })
        return Claim(replace(held, version=version + 1))


def reopen(sessions: sessionmaker[Session], upload_id: int, version: int, actor: str, reason: str) -> int | None:
    """Undo a claim whose work failed for a passing reason (download, busy database), so the
    choice can be made again; returns the new version for fresh buttons, None if gone."""
    with transaction(sessions) as session:
        won = session.execute(
            update(PendingUpload)
            .where(PendingUpload.id == upload_id, PendingUpload.version == version,
                   PendingUpload.decision.in_(("replace", "keep")))
            .values(version=version + 1, decision=None, decided_by=None, decided_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:  # the decision is on record; so is that it did not take effect
            audit.record(session, actor, "upload.duplicate_reopen", "upload", upload_id, {"reason": reason})
    return version + 1 if won == 1 else None


def _changed(session: Session, duplicate: Duplicate) -> bool:
    now_hash = session.scalar(select(Document.content_hash).where(Document.id == duplicate.document_id))
    return now_hash != duplicate.content_hash
