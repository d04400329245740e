"""Engine, sessions and schema migrations (Alembic, run programmatically at start-up)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

from knowledge.faults import DriverMissing, classify_db_error

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# How long a SQLite writer waits for another process's write to finish before giving up with
# DatabaseBusy (SAFETYBOT_DB_BUSY_TIMEOUT). Writes are short transactions, so a longer wait
# means another process is stuck, not busy.
DEFAULT_BUSY_TIMEOUT_S = 10.0

# Stable constraint names so that migrations behave the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, *, schema: str | None = None, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
                **kwargs: object) -> Engine:
    """An engine for ``url``; ``schema`` (PostgreSQL only) isolates one instance, e.g. a test.

    Driver errors that are faults of the environment (locked, read-only, unreachable, corrupt)
    are raised as ``knowledge.faults`` exceptions.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s}, **kwargs)
        _translate_faults(engine, path, busy_timeout_s)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            # WAL lets the bot read while an ingest writes; FKs make cascades real.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    shown = make_url(url).render_as_string(hide_password=True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    try:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    except ModuleNotFoundError as exc:
        raise DriverMissing(
            f"SAFETYBOT_DATABASE_URL 指向 {make_url(url).get_backend_name()}，但没有安装它的驱动（{exc.name}）。"
            "请安装：pip install 'safetybot[postgres]'（即 psycopg），或不设置该变量以使用 SQLite。"
        ) from exc
    _translate_faults(engine, shown, busy_timeout_s)
    return engine


def _translate_faults(engine: Engine, where: str, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "handle_error")
    def _raise_fault(context: ExceptionContext) -> None:
        fault = classify_db_error(context.original_exception, where=where, busy_wait_s=busy_timeout_s)
        if fault is not None:
            raise fault from context.sqlalchemy_exception


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


_REVISION_LINE = re.compile(r"""^(revision|down_revision)\s*=\s*(?:None|["']([^"']+)["'])""", re.M)


def head_revision() -> str | None:
    """The newest migration, read from the version files without importing Alembic (None when
    the history is not one straight line; Alembic then decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {m.group(1): m.group(2) for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8"))}
        if not found.get("revision"):
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _is_current(engine: Engine) -> bool:
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no schema yet
        return False
    return versions == [head]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to call on every start.

    A database already at the newest revision is recognised without Alembic, whose import and
    script loading were a tenth of a command's start-up."""
    if _is_current(engine):
        return
    from alembic import command

    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed as a whole or rolled back as a whole."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
