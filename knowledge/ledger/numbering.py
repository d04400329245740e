"""Readable hazard numbers such as ``YH-2026-0042``: a counter row per (prefix, year).

The counter is incremented with a single UPDATE in the caller's transaction, so concurrent
creators get different numbers (the row lock serialises them) and a rolled-back creation
does not consume its number.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from knowledge.ledger.models import HazardCounter

DEFAULT_PREFIX = "YH"


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:04d}"


def _ensure_counter(session: Session, prefix: str, year: int) -> None:
    # INSERT ... ON CONFLICT DO NOTHING instead of a savepoint: pysqlite turns an outermost
    # SAVEPOINT into its own transaction, so a savepoint here could commit half an operation.
    dialect = session.get_bind().dialect.name
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        dialect_insert(HazardCounter).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing()
    )


def allocate(session: Session, prefix: str, year: int, count: int = 1) -> list[str]:
    """Reserve ``count`` consecutive numbers for ``year``."""
    _ensure_counter(session, prefix, year)
    last = session.execute(
        update(HazardCounter)
        .where(HazardCounter.prefix == prefix, HazardCounter.year == year)
        .values(last=HazardCounter.last + count)
        .returning(HazardCounter.last)
    ).scalar_one()
    return [format_number(prefix, year, seq) for seq in range(last - count + 1, last + 1)]


def bump_past(session: Session, prefix: str, year: int, seq: int) -> None:
    """Make sure future numbers come after an imported number that used our format."""
    _ensure_counter(session, prefix, year)
    session.execute(
        update(HazardCounter)
        .where(HazardCounter.prefix == prefix, HazardCounter.year == year, HazardCounter.last < seq)
        .values(last=seq)
    )
