"""Ingestion, indexing and answering on a small corpus, on SQLite and PostgreSQL, with the real model."""
from __future__ import annotations

from pathlib import Path

import docx
import pytest
from sqlalchemy import delete, func, select

from bot.runtime import Runtime
from index import knowledge_base as kb_module
from index.knowledge_base import KnowledgeBase, QuestionError
from knowledge import documents
from knowledge.config import Settings
from knowledge.models import AuditLog, DocStatus, Document, Passage
from knowledge.readers import IngestError

pytestmark = pytest.mark.slow

WORKSHOP_RULES_V1 = """# 测试市有限空间作业安全规定

## 第一章 总则

第一条 为了加强有限空间作业安全管理，制定本规定。

第二条 有限空间作业应当严格执行先通风、再检测、后作业的原则，检测不合格的，严禁作业。

第三条 有限空间作业现场应当配备监护人员，监护人员不得离开作业现场。

## 第二章 法律责任

第四条 违反本规定第二条的，由应急管理部门责令限期改正，处五万元以下的罚款。
"""

WORKSHOP_RULES_V2 = WORKSHOP_RULES_V1.replace(
    "第三条 有限空间作业现场应当配备监护人员，监护人员不得离开作业现场。",
    "第三条 有限空间作业现场应当配备两名以上监护人员，并配置气体检测报警仪和正压式空气呼吸器。",
)


def make_kb(settings: Settings, embedder) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    return Runtime(settings, embedder=embedder).knowledge


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def db_passage_ids(kb: KnowledgeBase) -> set[int]:
    with kb.sessions() as s:
        return set(s.scalars(select(Passage.id).where(Passage.garbled.is_(False))))


def assert_consistent(kb: KnowledgeBase) -> None:
    """Database, keyword index and vector index hold exactly the same passages: no ghosts."""
    ids = db_passage_ids(kb)
    assert kb.store.keyword.id_set() == ids
    assert kb.store.vectors is not None and kb.store.vectors.passage_ids() == ids


@pytest.fixture
def kb(settings: Settings, embedder) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    return make_kb(settings, embedder)


def test_ingest_makes_text_answerable_with_citation(kb: KnowledgeBase, tmp_path: Path) -> None:
    report = kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    assert (report.outcome, report.passages, report.added) == ("new", 4, 4)
    answer = kb.answer("有限空间作业要先检测再作业吗？")
    assert not answer.abstained
    assert (answer.citations[0].document, answer.citations[0].article) == ("有限空间规定", "第二条")
    assert "先通风、再检测、后作业" in answer.answer
    assert_consistent(kb)


def test_reingesting_the_same_file_changes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1)
    kb.ingest(path, "admin")
    before = db_passage_ids(kb)
    again = kb.ingest(path, "admin")
    assert again.outcome == "unchanged" and again.added == 0 and again.removed == 0
    assert db_passage_ids(kb) == before
    assert_consistent(kb)


def test_new_version_replaces_old_without_ghosts(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    old_ids = db_passage_ids(kb)
    report = kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V2), "admin")
    assert (report.outcome, report.added, report.removed) == ("replaced", 1, 1)
    new_ids = db_passage_ids(kb)
    assert len(new_ids) == 4 and len(old_ids - new_ids) == 1  # unchanged articles keep their ids
    with kb.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 1
        texts = list(s.scalars(select(Passage.text)))
    assert not any("监护人员不得离开" in t for t in texts)
    hit = kb.answer("有限空间作业要配几名监护人员？").citations[0]
    assert hit.article == "第三条" and "两名以上" in hit.text
    assert_consistent(kb)


def test_quotes_prepared_ahead_change_no_answer(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    question = "有限空间作业要先检测再作业吗？"
    before = kb.answer(question)
    assert kb.prepare() == 4
    after = kb.answer(question)
    assert after.answer == before.answer
    assert [(c.document, c.article, c.excerpt) for c in after.citations] == [
        (c.document, c.article, c.excerpt) for c in before.citations]


def test_a_new_version_loaded_by_another_instance_is_quoted_not_the_remembered_text(
    kb: KnowledgeBase, settings: Settings, embedder, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    kb.prepare()
    assert "不得离开" in kb.answer("有限空间作业要配监护人员吗？").citations[0].text
    other = KnowledgeBase(settings, kb.sessions, embedder=embedder)  # a second bot on the same database
    other.open()
    other.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V2), "admin")
    kb._last_sync = 0.0  # as if the sync interval had passed
    hit = kb.answer("有限空间作业要配几名监护人员？").citations[0]
    assert hit.article == "第三条" and "两名以上" in hit.text and "两名以上" in hit.excerpt


def test_a_status_set_by_another_instance_reaches_citations_and_articles(
    kb: KnowledgeBase, settings: Settings, embedder, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    title = "有限空间规定"
    assert kb.article(title, 2).label == ""
    other = KnowledgeBase(settings, kb.sessions, embedder=embedder)  # e.g. `safetybot status` meanwhile
    other.open()
    assert other.set_status(title, DocStatus.REPEALED, "admin")
    kb._last_sync = 0.0  # as if the sync interval had passed
    assert kb.article(title, 2).label == DocStatus.REPEALED
    assert all(c.document != title for c in kb.answer("有限空间作业要先检测再作业吗？").citations)


def test_remove_deletes_from_database_and_indexes(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    assert kb.remove("有限空间规定", "admin") == 4
    assert kb.remove("有限空间规定", "admin") is None
    assert db_passage_ids(kb) == set()
    assert_consistent(kb)
    assert kb.answer("有限空间作业要先检测再作业吗？").abstained
    with kb.sessions() as s:
        actions = list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions == ["document.add", "document.remove"]


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("空文件.txt", b"", "empty"),
        ("图片.txt", bytes(range(256)) * 40, "unsupported"),
        ("表格.xls", b"\xd0\xcf\x11\xe0 not really excel", "unsupported"),
    ],
)
def test_bad_files_are_refused_and_change_nothing(
    kb: KnowledgeBase, tmp_path: Path, name: str, content: bytes, code: str
) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    before = db_passage_ids(kb)
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError) as err:
        kb.ingest(path, "admin")
    assert err.value.code == code and err.value.message  # a Chinese explanation for the user
    assert db_passage_ids(kb) == before
    assert_consistent(kb)


def test_oversize_file_refused_before_reading(settings: Settings, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kb = make_kb(settings.model_copy(update={"max_upload_bytes": 1000}), embedder)
    path = write(tmp_path / "大文件.md", WORKSHOP_RULES_V1 * 20)
    with pytest.raises(IngestError) as err:
        kb.ingest(path, "admin")
    assert err.value.code == "too_large"


def test_crash_mid_ingest_leaves_previous_version_serving(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    before = db_passage_ids(kb)
    real = documents.replace_document

    def crash_after_writing(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)  # the new version is written in the open transaction...
        raise RuntimeError("power cut")  # ...and the process dies before commit

    monkeypatch.setattr(kb_module.documents, "replace_document", crash_after_writing)
    with pytest.raises(RuntimeError):
        kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V2), "admin")
    assert db_passage_ids(kb) == before
    assert_consistent(kb)
    assert "监护人员不得离开" in kb.answer("有限空间作业监护人员能离开吗？").citations[0].text


def test_indexes_rebuilt_from_database_when_missing_or_stale(settings: Settings, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kb = make_kb(settings, embedder)
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    expected = kb.answer("有限空间作业要先检测再作业吗？").citations[0].passage_id
    for f in settings.index_dir.iterdir():
        f.unlink()
    # Another process deleted an article behind our back: the reopened index must not serve it.
    with kb.sessions() as s, s.begin():
        s.execute(delete(Passage).where(Passage.article == "第三条"))
    reopened = make_kb(settings, embedder)
    assert_consistent(reopened)
    assert len(reopened.store.keyword) == 3
    assert reopened.answer("有限空间作业要先检测再作业吗？").citations[0].passage_id == expected


def test_embedding_cache_means_nothing_is_embedded_twice(settings: Settings, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kb = make_kb(settings, embedder)
    first = kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    assert first.embedded == 4
    fresh = settings.model_copy(update={"data_dir": tmp_path / "other-instance"})
    other = KnowledgeBase(fresh, kb.sessions, embedder=embedder)
    other.store.load()
    report = other.store.sync(kb.sessions)
    assert (report.added, report.embedded) == (4, 0)


def test_superseded_document_is_not_cited(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.ingest(write(tmp_path / "有限空间规定.md", WORKSHOP_RULES_V1), "admin")
    assert kb.set_status("有限空间规定", DocStatus.REPEALED, "admin")
    answer = kb.answer("有限空间作业要先检测再作业吗？")
    assert all(c.document != "有限空间规定" for c in answer.citations)
    ref = kb.answer("有限空间规定第二条")  # looked up by reference it is shown, labelled
    assert ref.citations[0].label == DocStatus.REPEALED and DocStatus.REPEALED in ref.answer


def test_docx_upload_becomes_answerable(kb: KnowledgeBase, tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("关于加强夏季高温作业安全管理的通知", level=1)
    document.add_paragraph("各乡镇、街道，各有关单位：")
    document.add_paragraph("一、高温天气下，户外作业单位应当调整作息时间，日最高气温达到40摄氏度以上的，应当停止当日户外露天作业。")
    document.add_paragraph("二、各单位应当为高温作业人员配备防暑降温用品，并安排专人巡查。")
    path = tmp_path / "高温作业通知.docx"
    document.save(path)
    report = kb.ingest(path, "admin")
    assert report.outcome == "new" and report.added >= 1
    answer = kb.answer("气温超过40度还能在户外干活吗？")
    assert not answer.abstained
    # Without --title a notice is named by its headline, not by the file name.
    assert answer.citations[0].document == "关于加强夏季高温作业安全管理的通知"
    assert answer.citations[0].article is None
    assert "40摄氏度" in answer.answer


def test_questions_are_validated(kb: KnowledgeBase) -> None:
    with pytest.raises(QuestionError, match="空"):
        kb.answer("   ")
    with pytest.raises(QuestionError, match="太长"):
        kb.answer("安全" * 5000)
