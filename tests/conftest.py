"""Shared fixtures: a migrated database on SQLite and, when configured, PostgreSQL.

Set ``SAFETYBOT_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run
every database test on PostgreSQL too; each test then gets a schema of its own.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_robots.plugin import dingtalk_server, feishu_server, wecom_server  # noqa: F401  (fake robot servers)
from fake_telegram.plugin import tg_server  # noqa: F401  (fixture: fake Telegram Bot API server)
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge.config import BUNDLED_MODEL, Settings
from knowledge.db import make_engine, migrate, session_factory

PG_URL = os.environ.get("SAFETYBOT_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema) of an empty database for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}", None
        return
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield PG_URL, schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: tuple[str, str | None]) -> Iterator[Engine]:
    url, schema = db_url
    eng = make_engine(url, schema=schema)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One converted copy of the bundled model for the whole test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def embedder(models_dir: Path):  # type: ignore[no-untyped-def]
    from index.embedding_model import Embedder

    return Embedder(BUNDLED_MODEL, models_dir)


@pytest.fixture
def settings(tmp_path: Path, db_url: tuple[str, str | None], models_dir: Path) -> Settings:
    """Settings for an isolated instance: its own data dir and database, no bundled corpus."""
    url, schema = db_url
    if schema:
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    return Settings(data_dir=tmp_path / "data", database_url=url, load_bundled=False, model_dir=models_dir,
                    _env_file=None)


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, embedder):  # type: ignore[no-untyped-def]
    """The knowledge base on the bundled laws, built once per session on SQLite (about a minute).

    Tests that change it work on a copy: see ``bundled_copy``.
    """
    from bot.runtime import Runtime

    data = tmp_path_factory.mktemp("bundled")
    return Runtime(Settings(data_dir=data, model_dir=models_dir, _env_file=None), embedder=embedder).knowledge


@pytest.fixture
def bundled_copy(bundled, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A private copy of the bundled data folder (database, indexes) that a test may change."""
    import shutil

    target = tmp_path / "data"
    shutil.copytree(bundled.settings.data_dir, target, ignore=shutil.ignore_patterns("models"))
    return target
