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


def test_the_head_revision_read_without_alembic_is_alembics_head(engine):
    from alembic.script import ScriptDirectory

    from knowledge.db import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def test_a_database_behind_the_head_is_still_upgraded(engine):
    from alembic import command
    from sqlalchemy import text

    from knowledge.db import alembic_config, head_revision

    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    with engine.begin() as conn:  # as if the newest migration had not run yet
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() != head_revision()
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    assert set(inspect(engine).get_table_names()) == tables
