"""Storing rules: upsert by id with version history, removal, listing; every change audited."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge import audit
from knowledge.duties.models import DutyRule, DutyRuleHistory
from knowledge.duties.schema import LAYERS, RuleIn
from knowledge.models import utcnow

OBJECT_TYPE = "duty_rule"
_RULE_FIELDS = ("topic", "aliases", "keywords", "layer", "party", "duty", "law_wording", "jurisdiction", "note")


@dataclass
class UpsertResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}

    def summary(self) -> str:
        return f"新增 {len(self.added)} 条，更新 {len(self.updated)} 条，未变 {len(self.unchanged)} 条"


def rule_snapshot(row: DutyRule) -> dict[str, Any]:
    """The rule's content in the same shape as ``RuleIn.snapshot()`` plus bookkeeping."""
    data = {name: getattr(row, name) for name in ("id", *_RULE_FIELDS, "basis")}
    data.update(source=row.source, version=row.version)
    return data


def upsert_rules(
    session: Session, rules: list[RuleIn], *, actor: str, source: str, chunk: int = 500
) -> UpsertResult:
    """Insert new rules, replace changed ones (old version kept in history), skip identical ones."""
    result = UpsertResult()
    existing: dict[str, DutyRule] = {}
    ids = [r.id for r in rules]
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        existing.update({row.id: row for row in session.scalars(select(DutyRule).where(DutyRule.id.in_(part)))})
    next_pos = (session.scalar(select(func.max(DutyRule.position))) or 0) + 1
    for rule in rules:
        digest = rule.content_hash()
        row = existing.get(rule.id)
        if row is None:
            session.add(_new_row(rule, digest, actor, source, next_pos))
            next_pos += 1
            audit.record(session, actor, "duty_rule.add", OBJECT_TYPE, rule.id,
                         {"source": source, "version": 1, "topic": rule.topic, "party": rule.party})
            result.added.append(rule.id)
        elif row.content_hash == digest and row.source == source:
            result.unchanged.append(rule.id)
        else:
            changed = _changed_fields(row, rule)
            session.add(DutyRuleHistory(rule_id=row.id, version=row.version, change="update",
                                        data=rule_snapshot(row), changed_by=actor))
            _apply(row, rule, digest, actor, source)
            row.version += 1
            audit.record(session, actor, "duty_rule.update", OBJECT_TYPE, rule.id,
                         {"source": source, "version": row.version, "changed": changed})
            result.updated.append(rule.id)
    session.flush()
    return result


def _new_row(rule: RuleIn, digest: str, actor: str, source: str, position: int) -> DutyRule:
    row = DutyRule(id=rule.id, version=1, position=position)
    _apply(row, rule, digest, actor, source)
    return row


def _apply(row: DutyRule, rule: RuleIn, digest: str, actor: str, source: str) -> None:
    data = rule.snapshot()
    for name in _RULE_FIELDS:
        setattr(row, name, data[name])
    row.basis = data["basis"]
    row.source = source
    row.content_hash = digest
    row.updated_at = utcnow()
    row.updated_by = actor


def _changed_fields(row: DutyRule, rule: RuleIn) -> list[str]:
    data = rule.snapshot()
    return [name for name in (*_RULE_FIELDS, "basis") if getattr(row, name) != data[name]]


def remove_rule(session: Session, rule_id: str, *, actor: str) -> bool:
    row = session.get(DutyRule, rule_id)
    if row is None:
        return False
    session.add(DutyRuleHistory(rule_id=row.id, version=row.version, change="remove",
                                data=rule_snapshot(row), changed_by=actor))
    audit.record(session, actor, "duty_rule.remove", OBJECT_TYPE, rule_id,
                 {"version": row.version, "topic": row.topic, "party": row.party})
    session.delete(row)
    session.flush()
    return True


def get_rule(session: Session, rule_id: str) -> DutyRule | None:
    return session.get(DutyRule, rule_id)


def list_rules(
    session: Session, *, topic: str | None = None, layer: str | None = None, jurisdiction: str | None = None
) -> list[DutyRule]:
    query = select(DutyRule)
    if topic:
        query = query.where(DutyRule.topic.contains(topic))
    if layer:
        query = query.where(DutyRule.layer == layer)
    if jurisdiction:
        query = query.where(DutyRule.jurisdiction == jurisdiction)
    rows = list(session.scalars(query))
    rows.sort(key=lambda r: (r.position, LAYERS.index(r.layer) if r.layer in LAYERS else 99, r.id))
    return rows


def rule_history(session: Session, rule_id: str) -> list[DutyRuleHistory]:
    query = select(DutyRuleHistory).where(DutyRuleHistory.rule_id == rule_id).order_by(DutyRuleHistory.id)
    return list(session.scalars(query))


def removed_ids(session: Session, ids: list[str]) -> set[str]:
    """Rule ids that someone removed on purpose (they must not come back on upgrade)."""
    query = select(DutyRuleHistory.rule_id).where(
        DutyRuleHistory.change == "remove", DutyRuleHistory.rule_id.in_(ids)
    )
    return set(session.scalars(query))


def rules_stamp(session: Session) -> tuple[int, Any]:
    """Cheap fingerprint of the rule table, so readers can cache rules until it changes."""
    count, latest = session.execute(select(func.count(DutyRule.id), func.max(DutyRule.updated_at))).one()
    last_change = session.scalar(select(func.max(DutyRuleHistory.id)))
    return int(count), (latest, last_change)
