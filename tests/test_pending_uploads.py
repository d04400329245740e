"""Uploads held as duplicates until an admin decides (SQLite and PostgreSQL): one decision per held
upload, stale presses change nothing, and an ingest made on a decision checks that the other
document is still the one it was about."""
from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.runtime import Runtime
from knowledge import pending_uploads
from knowledge.config import Settings
from knowledge.db import Base, transaction
from knowledge.duplicates import Duplicate, DuplicateContent
from knowledge.models import AuditLog, Document, PendingUpload, utcnow
from knowledge.pending_uploads import STALE_CHANGED, STALE_DECIDED, STALE_EXPIRED, STALE_MISSING
from knowledge.readers import IngestError

TEXT = ("第一条 有限空间作业应当严格执行“先通风、再检测、后作业”的要求。\n"
        "第二条 有限空间作业现场应当设置专人监护，监护人员每三十分钟至少与作业人员联络一次。\n"
        "第三条 作业单位应当配备正压式空气呼吸器和安全绳等应急救援装备。\n"
        "第四条 作业前应当对作业人员进行安全交底，说明作业内容、危险因素、防控措施和应急处置方法。\n"
        "第五条 发生中毒窒息事故后，严禁未佩戴防护装备的人员盲目施救，应当立即报告并拨打急救电话。\n")


def test_schema_matches_models(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "pending_uploads" in repr(d)] == []


def _document(sessions: sessionmaker[Session], title: str = "原文档", content_hash: str = "a" * 64) -> Duplicate:
    with transaction(sessions) as session:
        doc = Document(title=title, kind="notice", source_name=f"{title}.txt", content_hash=content_hash)
        session.add(doc)
        session.flush()
        return Duplicate(title, 1.0, doc.id, content_hash)


def _hold(sessions: sessionmaker[Session], duplicate: Duplicate, **kw: Any) -> pending_uploads.HeldUpload:
    return pending_uploads.hold(sessions, source_ref="file-id-1", file_name="转发.txt", title=None,
                                duplicate=duplicate, actor="telegram:1 上传者", **kw)


def test_one_decision_per_held_upload(sessions: sessionmaker[Session]) -> None:
    held = _hold(sessions, _document(sessions))
    assert held.version == 1 and held.duplicate.title == "原文档"

    assert pending_uploads.claim(sessions, held.id, 2, "keep", "telegram:2 甲").stale == STALE_DECIDED  # not shown
    won = pending_uploads.claim(sessions, held.id, 1, "replace", "telegram:2 甲")
    assert won.stale is None and won.upload is not None and won.upload.version == 2
    for decision in ("replace", "keep", "cancel"):  # a second press, on any button
        assert pending_uploads.claim(sessions, held.id, 1, decision, "telegram:3 乙") == \
            pending_uploads.Claim(None, STALE_DECIDED)
    assert pending_uploads.claim(sessions, held.id + 1, 1, "keep", "telegram:2 甲").stale == STALE_MISSING
    with sessions() as session:
        [entry] = session.scalars(select(AuditLog).where(AuditLog.action == "upload.duplicate_decision"))
        assert entry.actor == "telegram:2 甲" and entry.detail["decision"] == "replace"
        assert entry.detail["duplicate_of"] == "原文档" and entry.detail["uploaded_by"] == "telegram:1 上传者"


def test_simultaneous_presses_have_one_winner(sessions: sessionmaker[Session]) -> None:
    held = _hold(sessions, _document(sessions))
    start = threading.Barrier(6)
    results: list[pending_uploads.Claim] = []

    def tap(n: int) -> None:
        start.wait()
        results.append(pending_uploads.claim(sessions, held.id, 1, ("replace", "keep", "cancel")[n % 3],
                                             f"telegram:{n} 管理员"))

    threads = [threading.Thread(target=tap, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for r in results if r.upload is not None) == 1
    assert sorted(r.stale for r in results if r.upload is None) == [STALE_DECIDED] * 5
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 1


def test_a_changed_or_removed_duplicate_makes_replace_and_keep_stale(sessions: sessionmaker[Session]) -> None:
    duplicate = _document(sessions)
    held = _hold(sessions, duplicate)
    with transaction(sessions) as session:
        session.get(Document, duplicate.document_id).content_hash = "b" * 64  # type: ignore[union-attr]
    claim = pending_uploads.claim(sessions, held.id, 1, "keep", "telegram:2 甲")
    assert claim.stale == STALE_CHANGED and claim.upload is not None  # to say what changed
    assert pending_uploads.claim(sessions, held.id, 2, "keep", "telegram:2 甲").stale == STALE_DECIDED

    other = _document(sessions, "另一份", "c" * 64)
    cancelled = _hold(sessions, other)
    with transaction(sessions) as session:
        session.delete(session.get(Document, other.document_id))
    assert pending_uploads.claim(sessions, cancelled.id, 1, "cancel", "telegram:2 甲").stale is None  # changes nothing
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 1  # the cancel


def test_held_uploads_expire_and_a_failed_attempt_can_be_retried(sessions: sessionmaker[Session]) -> None:
    duplicate = _document(sessions)
    old = _hold(sessions, duplicate, now=utcnow() - timedelta(days=pending_uploads.HOLD_DAYS, hours=1))
    assert pending_uploads.claim(sessions, old.id, 1, "keep", "telegram:2 甲").stale == STALE_EXPIRED

    fresh = _hold(sessions, duplicate)  # holding drops what has expired
    with sessions() as session:
        assert session.scalars(select(PendingUpload.id)).all() == [fresh.id]

    claim = pending_uploads.claim(sessions, fresh.id, 1, "replace", "telegram:2 甲")
    assert claim.upload is not None
    version = pending_uploads.reopen(sessions, fresh.id, claim.upload.version, "telegram:2 甲", "文件下载失败")
    assert version == 3
    assert pending_uploads.reopen(sessions, fresh.id, claim.upload.version, "telegram:2 甲", "again") is None  # once
    assert pending_uploads.claim(sessions, fresh.id, 2, "keep", "telegram:2 甲").stale == STALE_DECIDED  # old buttons
    assert pending_uploads.claim(sessions, fresh.id, 3, "keep", "telegram:3 乙").upload is not None
    with sessions() as session:
        assert [(e.action, e.actor) for e in session.scalars(select(AuditLog).order_by(AuditLog.id))] == [
            ("upload.duplicate_decision", "telegram:2 甲"), ("upload.duplicate_reopen", "telegram:2 甲"),
            ("upload.duplicate_decision", "telegram:3 乙")]


@pytest.mark.slow
def test_ingest_on_a_decision_checks_the_duplicate_is_unchanged(  # type: ignore[no-untyped-def]
        settings: Settings, embedder, tmp_path: Path) -> None:
    kb = Runtime(settings, embedder=embedder).knowledge
    (tmp_path / "原文.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "转发.txt").write_text(TEXT, encoding="utf-8")
    kb.ingest(tmp_path / "原文.txt", "admin")
    with pytest.raises(DuplicateContent) as refused:
        kb.ingest(tmp_path / "转发.txt", "admin")
    duplicate = refused.value.duplicate
    assert (refused.value.title, duplicate.title, duplicate.identical) == ("转发", "原文", True)

    (tmp_path / "原文.txt").write_text(TEXT.replace("三十分钟", "二十分钟"), encoding="utf-8")
    assert kb.ingest(tmp_path / "原文.txt", "admin").outcome == "replaced"  # changed after the refusal
    with pytest.raises(IngestError) as stale:
        kb.ingest(tmp_path / "转发.txt", "admin", duplicate="keep", expected_duplicate=duplicate)
    assert stale.value.code == "duplicate_changed" and "《原文》在此期间已被修改或删除" in stale.value.message
    assert [doc.title for doc, _ in kb.list_documents()] == ["原文"]

    with pytest.raises(DuplicateContent) as again:  # still nearly the same: a new decision is needed
        kb.ingest(tmp_path / "转发.txt", "admin")
    assert not again.value.duplicate.identical and "几乎相同（相似度" in again.value.message
    report = kb.ingest(tmp_path / "转发.txt", "admin", duplicate="keep", expected_duplicate=again.value.duplicate)
    assert report.duplicate_of == "原文"
    assert sorted(doc.title for doc, _ in kb.list_documents()) == ["原文", "转发"]
