from sqlalchemy import inspect

from knowledge import audit
from knowledge.db import migrate, transaction
from knowledge.models import AuditLog, Document, Passage


def test_migrations_create_schema_and_are_idempotent(engine):
    tables = set(inspect(engine).get_table_names())
    assert {"documents", "passages", "embedding_cache", "audit_log"} <= tables
    migrate(engine)  # a second start must not fail or change anything
    assert set(inspect(engine).get_table_names()) == tables


def test_deleting_a_document_cascades_to_passages(sessions):
    with transaction(sessions) as s:
        doc = Document(title="测试法", kind="law", source_name="t.md", content_hash="x")
        doc.passages = [Passage(ordinal=0, text="第一条 测试。", norm_text="第一条 测试。", content_hash="h")]
        s.add(doc)
        audit.record(s, "tester", "document.add", "document", "测试法")
    with transaction(sessions) as s:
        s.delete(s.query(Document).one())
    with sessions() as s:
        assert s.query(Passage).count() == 0
        assert s.query(AuditLog).one().actor == "tester"
