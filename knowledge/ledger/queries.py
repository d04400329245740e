"""Listing, searching and statistics of hazard items, in SQL.

"Overdue" is always computed here from ``deadline`` and the caller's today: an open item whose
deadline is before today. Nothing stores it, so it can never drift.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from knowledge.ledger.models import Hazard, Official, Status, Unit
from knowledge.ledger.views import HazardSummary, StatsReport, StatsRow
from knowledge.textnorm import normalize

# A literal (not a bound parameter) so PostgreSQL matches the partial "open items" indexes.
IS_OPEN: ColumnElement[bool] = Hazard.status != literal_column(f"'{Status.CLOSED}'")


def is_overdue(today: date) -> ColumnElement[bool]:
    return and_(IS_OPEN, Hazard.deadline < today)


@dataclass
class HazardFilter:
    unit_id: int | None = None          # responsible unit, including its sub-units
    located_unit_id: int | None = None  # unit where the hazard is, including sub-units
    official_id: int | None = None
    statuses: Sequence[str] = ()
    level: str | None = None
    overdue: bool | None = None
    due_within: int | None = None       # open and due in the next N days (or already overdue)
    supervising_unit_id: int | None = None
    listed_supervision: bool | None = None
    text: str | None = None
    found_from: date | None = None
    found_to: date | None = None
    limit: int | None = 100
    offset: int = 0


def subtree_ids(unit_path: str) -> Select:
    return select(Unit.id).where(Unit.path.like(f"{unit_path}%"))


def _unit_path(session: Session, unit_id: int) -> str:
    return session.execute(select(Unit.path).where(Unit.id == unit_id)).scalar_one()


def apply_filter(session: Session, stmt: Select, flt: HazardFilter, today: date) -> Select:
    if flt.unit_id is not None:
        stmt = stmt.where(Hazard.responsible_unit_id.in_(subtree_ids(_unit_path(session, flt.unit_id))))
    if flt.located_unit_id is not None:
        stmt = stmt.where(Hazard.unit_id.in_(subtree_ids(_unit_path(session, flt.located_unit_id))))
    if flt.official_id is not None:
        stmt = stmt.where(Hazard.responsible_official_id == flt.official_id)
    if flt.statuses:
        stmt = stmt.where(Hazard.status.in_(list(flt.statuses)))
    if flt.level:
        stmt = stmt.where(Hazard.level == flt.level)
    if flt.overdue is True:
        stmt = stmt.where(is_overdue(today))
    elif flt.overdue is False:
        stmt = stmt.where(~is_overdue(today))
    if flt.due_within is not None:
        stmt = stmt.where(IS_OPEN, Hazard.deadline <= today + timedelta(days=flt.due_within))
    if flt.supervising_unit_id is not None:
        stmt = stmt.where(Hazard.supervising_unit_id == flt.supervising_unit_id)
    if flt.listed_supervision is not None:
        stmt = stmt.where(Hazard.listed_supervision.is_(flt.listed_supervision))
    if flt.found_from is not None:
        stmt = stmt.where(Hazard.found_on >= flt.found_from)
    if flt.found_to is not None:
        stmt = stmt.where(Hazard.found_on <= flt.found_to)
    if flt.text:
        terms = [t for t in normalize(flt.text).split(" ") if t]
        for term in terms:
            # autoescape: a "%" or "_" typed by the user is a character, not a wildcard.
            stmt = stmt.where(or_(
                Hazard.norm_description.contains(term, autoescape=True),
                Hazard.number.contains(term.upper(), autoescape=True),
                Hazard.location.contains(term, autoescape=True),
            ))
    return stmt


def list_hazards(session: Session, flt: HazardFilter, today: date) -> list[HazardSummary]:
    located, resp, sup = aliased(Unit), aliased(Unit), aliased(Unit)
    stmt: Select = (
        select(
            Hazard.number, Hazard.description, located.name, resp.name, Official.name, Hazard.level,
            Hazard.status, Hazard.found_on, Hazard.deadline, is_overdue(today), sup.name,
            Hazard.listed_supervision, Hazard.closed_on, Hazard.version,
        )
        .join(located, located.id == Hazard.unit_id)
        .join(resp, resp.id == Hazard.responsible_unit_id)
        .outerjoin(sup, sup.id == Hazard.supervising_unit_id)
        .outerjoin(Official, Official.id == Hazard.responsible_official_id)
    )
    stmt = apply_filter(session, stmt, flt, today)
    # Due-date order for open-item lists (what needs attention first), newest first otherwise.
    if flt.due_within is not None or flt.overdue:
        stmt = stmt.order_by(Hazard.deadline, Hazard.id)
    else:
        stmt = stmt.order_by(Hazard.id.desc())
    if flt.limit:
        stmt = stmt.limit(flt.limit).offset(flt.offset)
    out = []
    for row in session.execute(stmt):
        open_ = row.status != Status.CLOSED
        out.append(HazardSummary(
            number=row[0], description=row[1], unit=row[2], responsible_unit=row[3],
            responsible_official=row[4], level=row[5], status=row[6], found_on=row[7], deadline=row[8],
            overdue=bool(row[9]), days_left=(row[8] - today).days if open_ else None,
            supervising_unit=row[10], listed_supervision=bool(row[11]), closed_on=row[12], version=row[13],
        ))
    return out


def count_hazards(session: Session, flt: HazardFilter, today: date) -> int:
    stmt = apply_filter(session, select(func.count()).select_from(Hazard), flt, today)
    return session.execute(stmt).scalar_one()


def _days_between(session: Session, later: Any, earlier: Any) -> ColumnElement:
    if session.get_bind().dialect.name == "postgresql":
        return later - earlier  # date - date is an integer number of days
    return func.julianday(later) - func.julianday(earlier)


def stats(
    session: Session, root_unit_id: int | None, start: date, end: date, today: date
) -> StatsReport:
    """Items found in [start, end], evaluated on the period's last day (or today if earlier).

    One row per direct sub-unit of ``root_unit_id`` (each including its own sub-units) plus the
    root's own items, ranked by 整改率 (high first) then 逾期率 (low first).
    """
    as_of = min(end, today)
    closed = and_(Hazard.status == Status.CLOSED, Hazard.closed_on <= as_of)
    open_ = ~closed
    stmt = (
        select(
            Hazard.responsible_unit_id,
            func.count(),
            func.sum(case((open_, 1), else_=0)),
            func.sum(case((and_(open_, Hazard.deadline < as_of), 1), else_=0)),
            func.sum(case((closed, 1), else_=0)),
            func.sum(case((and_(closed, Hazard.closed_on <= Hazard.deadline), 1), else_=0)),
            func.sum(case((and_(closed, Hazard.closed_on > Hazard.deadline), 1), else_=0)),
            func.sum(case((closed, _days_between(session, Hazard.closed_on, Hazard.found_on)), else_=0)),
        )
        .where(Hazard.found_on >= start, Hazard.found_on <= end)
        .group_by(Hazard.responsible_unit_id)
    )
    rows: dict[int | None, StatsRow] = {}
    if root_unit_id is not None:
        root = session.get(Unit, root_unit_id)
        if root is None:
            raise ValueError(f"unknown unit id {root_unit_id}")
        stmt = stmt.where(Hazard.responsible_unit_id.in_(subtree_ids(root.path)))
        rows[root.id] = StatsRow(root.id, f"{root.name}（本级）")
        title, root_depth, prefix = root.name, root.depth, root.path
        child_filter = Unit.parent_id == root.id
    else:
        title, root_depth, prefix = "全部单位", -1, "/"
        child_filter = Unit.parent_id.is_(None)
    for cid, name in session.execute(select(Unit.id, Unit.name).where(child_filter).order_by(Unit.id)):
        rows[cid] = StatsRow(cid, name)
    paths = dict(session.execute(select(Unit.id, Unit.path).where(Unit.path.like(f"{prefix}%"))).all())
    total = StatsRow(root_unit_id, f"{title}合计")
    for unit_id, n, n_open, n_over, n_closed, n_ontime, n_late, days in session.execute(stmt):
        parts = [int(p) for p in paths[unit_id].strip("/").split("/")]
        # The row this unit rolls up into: the ancestor one level below the root (or the root itself).
        key = parts[root_depth + 1] if len(parts) > root_depth + 1 else root_unit_id
        for row in (rows.get(key), total):
            if row is None:
                continue
            row.total += n
            row.open += int(n_open or 0)
            row.overdue += int(n_over or 0)
            row.closed += int(n_closed or 0)
            row.closed_on_time += int(n_ontime or 0)
            row.closed_late += int(n_late or 0)
            row.days_to_close_sum += round(float(days or 0))
    ranked = [r for r in rows.values() if r.total or r.unit_id != root_unit_id]
    ranked.sort(key=lambda r: (
        r.total == 0, -(r.rectification_rate or 0), r.overdue_rate or 0, -r.total, r.unit,
    ))
    for i, row in enumerate(ranked, 1):
        row.rank = i if row.total else None
    return StatsReport(title, start, end, as_of, ranked, total)
