"""Use cases: load a rules file, keep the bundled rule set current in the database."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge import audit
from knowledge.db import transaction
from knowledge.duties.loader import (
    RawRow,
    RulesFileError,
    article_index,
    check_basis,
    read_rules_file,
    read_yaml,
    validate_rows,
)
from knowledge.duties.models import DutyRule
from knowledge.duties.repository import OBJECT_TYPE, UpsertResult, remove_rule, removed_ids, upsert_rules
from knowledge.duties.schema import RuleIn, parse_rule

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).parent / "rules"
BUNDLED_SOURCE = "bundled"


def load_rules_file(
    sessions: sessionmaker[Session], path: Path, *, actor: str, max_bytes: int | None = None
) -> UpsertResult:
    """Validate ``path`` completely, then upsert all its rules in one transaction.

    Raises ``RulesFileError`` (nothing written) when any row is wrong.
    """
    rows = read_rules_file(path, max_bytes=max_bytes)
    with transaction(sessions) as session:
        parsed = validate_rows(session, rows)
        result = upsert_rules(session, [p.rule for p in parsed], actor=actor, source=path.name)
        audit.record(session, actor, "duty_rules.load", OBJECT_TYPE, path.name,
                     {"file": path.name, "rows": len(parsed), **result.to_json()})
    return result


def bundled_rows() -> list[RawRow]:
    rows: list[RawRow] = []
    for path in sorted(BUNDLED_DIR.glob("*.yaml")):
        for row in read_yaml(path.read_text(encoding="utf-8")):
            row.row = f"{path.name} {row.row}"
            rows.append(row)
    return rows


@dataclass
class BundleResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept_local: list[str] = field(default_factory=list)  # overridden or removed by an admin
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "removed": self.removed,
                "kept_local": self.kept_local, "errors": self.errors}


def ensure_bundled_rules(sessions: sessionmaker[Session], actor: str = "system") -> BundleResult:
    """Bring the shipped rule set into the database; idempotent, cheap when nothing changed.

    Shipped rules that an admin has overridden (loaded from a file) or removed are left alone.
    Invalid shipped data (e.g. the laws are not ingested yet) changes nothing and is reported.
    """
    result = BundleResult()
    rows = bundled_rows()
    with transaction(sessions) as session:
        if _bundle_unchanged(session, rows):
            return result
        try:
            parsed = validate_rows(session, rows)
        except RulesFileError as exc:
            result.errors = [str(e) for e in exc.errors]
            log.warning("bundled duty rules not loaded: %d errors, first: %s", len(exc.errors), exc.errors[0])
            return result
        rules = [p.rule for p in parsed]
        current = {row.id: row for row in session.scalars(select(DutyRule))}
        gone = removed_ids(session, [r.id for r in rules if r.id not in current])
        wanted = []
        for rule in rules:
            row = current.get(rule.id)
            if (row is not None and row.source != BUNDLED_SOURCE) or (row is None and rule.id in gone):
                result.kept_local.append(rule.id)
            else:
                wanted.append(rule)
        upserted = upsert_rules(session, wanted, actor=actor, source=BUNDLED_SOURCE)
        result.added, result.updated = upserted.added, upserted.updated
        shipped = {r.id for r in rules}
        for rule_id, row in current.items():
            if row.source == BUNDLED_SOURCE and rule_id not in shipped:
                remove_rule(session, rule_id, actor=actor)
                result.removed.append(rule_id)
        if result.changed:
            audit.record(session, actor, "duty_rules.bundle", OBJECT_TYPE, BUNDLED_SOURCE,
                         {"added": len(result.added), "updated": len(result.updated),
                          "removed": len(result.removed)})
    return result


def _bundle_unchanged(session: Session, rows: list[RawRow]) -> bool:
    """True when the database already holds exactly the shipped rules (the common start-up case)."""
    rules = []
    for raw in rows:
        rule, problems = parse_rule(raw.data)
        if rule is None or problems or raw.problems:
            return False
        rules.append(rule)
    current = {row.id: row for row in session.scalars(select(DutyRule))}
    missing = [r.id for r in rules if r.id not in current]
    if missing and set(missing) - removed_ids(session, missing):
        return False
    for rule in rules:
        row = current.get(rule.id)
        if row is not None and row.source == BUNDLED_SOURCE and row.content_hash != rule.content_hash():
            return False
    shipped = {r.id for r in rules}
    return not any(row.source == BUNDLED_SOURCE and rid not in shipped for rid, row in current.items())


def check_stored_rules(session: Session) -> list[str]:
    """Problems of the rules in the database, e.g. after a cited document was removed or replaced."""
    rows = list(session.scalars(select(DutyRule).order_by(DutyRule.position)))
    index = article_index(session, {b["document"] for r in rows for b in r.basis})
    problems: list[str] = []
    for row in rows:
        rule = RuleIn.model_validate({
            "id": row.id, "topic": row.topic, "aliases": row.aliases, "keywords": row.keywords,
            "layer": row.layer, "party": row.party, "duty": row.duty, "basis": row.basis,
            "law_wording": row.law_wording, "jurisdiction": row.jurisdiction, "note": row.note,
        })
        problems += [f"{row.id}：{p}" for p in check_basis(rule, index)]
    return problems
