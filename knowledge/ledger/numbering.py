"""Readable hazard numbers such as ``YH-2026-0042``: a counter row per (prefix, year).

The counter is incremented with a single UPDATE in the caller's transaction, so concurrent
creators get different numbers (the row lock serialises them) and a rolled-back creation
does not consume its number.
"""
from __future__ import annotations

import re

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge.ledger.models import HazardCounter

DEFAULT_PREFIX = "YH"
NUMBER_RE = re.compile(r"^[A-Z][A-Z0-9]{0,9}-\d{4}-\d{4,}$")


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year}-{seq:04d}"


def allocate(session: Session, prefix: str, year: int, count: int = 1) -> list[str]:
    """Reserve ``count`` consecutive numbers for ``year``."""
    stmt = (
        update(HazardCounter)
        .where(HazardCounter.prefix == prefix, HazardCounter.year == year)
        .values(last=HazardCounter.last + count)
        .returning(HazardCounter.last)
    )
    last = session.execute(stmt).scalar_one_or_none()
    if last is None:
        try:
            with session.begin_nested():
                session.execute(insert(HazardCounter).values(prefix=prefix, year=year, last=count))
            last = count
        except IntegrityError:  # another transaction created the row first
            last = session.execute(stmt).scalar_one()
    return [format_number(prefix, year, seq) for seq in range(last - count + 1, last + 1)]


def bump_past(session: Session, prefix: str, year: int, seq: int) -> None:
    """Make sure future numbers come after an imported number that used our format."""
    current = session.execute(
        select(HazardCounter.last).where(HazardCounter.prefix == prefix, HazardCounter.year == year)
    ).scalar_one_or_none()
    if current is None:
        allocate(session, prefix, year, seq)
    elif current < seq:
        session.execute(
            update(HazardCounter)
            .where(HazardCounter.prefix == prefix, HazardCounter.year == year)
            .values(last=seq)
        )
