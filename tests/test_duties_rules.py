"""The curated rule set: every basis exists in the corpus and its text supports the duty."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from knowledge.db import transaction
from knowledge.duties.loader import compact, validate_rows
from knowledge.duties.models import DutyRule, DutyRuleHistory
from knowledge.duties.repository import remove_rule, upsert_rules
from knowledge.duties.schema import LAYERS, NATIONAL, parse_rule
from knowledge.duties.service import BUNDLED_SOURCE, bundled_rows, ensure_bundled_rules
from knowledge.models import AuditLog, Document, Passage

pytest_plugins = ["duties_fixtures"]  # fixtures kb_sessions, rule_sessions

# Topics the issue requires (each must be covered by some topic name or alias).
REQUIRED_TOPICS = [
    "电焊", "气焊", "动火", "特种作业", "有限空间", "危险化学品生产、储存", "危险化学品使用", "危险化学品经营",
    "危险化学品运输", "烟花爆竹", "民用爆炸物品", "建筑施工", "城镇燃气", "电梯", "锅炉", "压力容器", "起重机械",
    "消防安全", "人员密集场所", "九小场所", "矿山", "大型群众性活动", "职业病防治", "事故报告", "事故调查",
    "应急预案", "隐患排查", "重大事故隐患", "安全生产责任制", "安全投入", "安全培训", "劳动防护用品",
    "劳务派遣", "外包", "安全生产许可证", "安全评价", "管行业必须管安全", "党政同责", "一岗双责",
]
OLD_NAMES = {"安全生产监督管理部门": "应急管理部门", "公安机关消防机构": "消防救援机构"}
LOCAL_DOCUMENTS = {"北京市安全生产条例": "北京市", "上海市消防条例": "上海市", "山东省消防条例": "山东省"}


def _bundled_rules():
    rules = []
    for raw in bundled_rows():
        rule, problems = parse_rule(raw.data)
        assert rule is not None and not problems and not raw.problems, (raw.row, problems, raw.problems)
        rules.append(rule)
    return rules


def test_rule_set_size_and_coverage():
    rules = _bundled_rules()
    topics = {r.topic for r in rules}
    assert len(topics) >= 30
    assert len({r.id for r in rules}) == len(rules)
    vocabulary = " ".join(t for r in rules for t in [r.topic, *r.aliases])
    missing = [t for t in REQUIRED_TOPICS if t not in vocabulary]
    assert not missing, missing
    assert {r.layer for r in rules} == set(LAYERS)


def test_every_basis_resolves_to_a_passage_that_supports_the_duty(kb_sessions):
    rules = _bundled_rules()
    with kb_sessions() as session:
        texts: dict[tuple[str, str], str] = defaultdict(str)
        query = select(Document.title, Passage.article, Passage.text).join(Passage, Passage.document_id == Document.id)
        for title, article, text in session.execute(query):
            if article:
                texts[(title, article)] += text
    problems = []
    for rule in rules:
        for ref in rule.basis:
            text = texts.get((ref.document, ref.article))
            if text is None:
                problems.append(f"{rule.id}: {ref.label()} has no passage")
            elif not ref.evidence:
                problems.append(f"{rule.id}: {ref.label()} has no evidence phrase")
            elif compact(ref.evidence) not in compact(text):
                problems.append(f"{rule.id}: evidence {ref.evidence!r} not in {ref.label()}")
            elif len(compact(ref.evidence)) < 6:
                problems.append(f"{rule.id}: evidence {ref.evidence!r} too short to support a duty")
    assert not problems, "\n".join(problems)


def test_local_rules_carry_their_jurisdiction_and_renamed_bodies_their_wording(kb_sessions):
    rules = _bundled_rules()
    with kb_sessions() as session:
        texts = {(t, a): x for t, a, x in session.execute(
            select(Document.title, Passage.article, Passage.text).join(Passage, Passage.document_id == Document.id))}
    for rule in rules:
        local = {LOCAL_DOCUMENTS[b.document] for b in rule.basis if b.document in LOCAL_DOCUMENTS}
        if local:
            assert rule.jurisdiction in local, rule.id
        else:
            assert rule.jurisdiction == NATIONAL, rule.id
        # Where the cited article uses a pre-2018 name and the rule names today's body, say so.
        cited = "".join(texts.get((b.document, b.article), "") for b in rule.basis)
        for old, new in OLD_NAMES.items():
            if old in cited and new in rule.party and old not in rule.party:
                assert rule.law_wording and old in rule.law_wording, rule.id
    wording = [r for r in rules if r.law_wording]
    assert any("安全生产监督管理部门" in r.law_wording for r in wording)
    assert any("公安机关消防机构" in r.law_wording for r in wording)


def test_principle_without_article_is_said_in_a_note():
    rules = _bundled_rules()
    party_gov = [r for r in rules if r.topic.startswith("党政同责")]
    assert party_gov and all("未收录" in (r.note or "") for r in party_gov)


def test_bundled_rules_load_once_and_are_idempotent(kb_sessions):
    first = ensure_bundled_rules(kb_sessions)
    assert not first.errors and len(first.added) == len(_bundled_rules())
    second = ensure_bundled_rules(kb_sessions)
    assert not second.changed
    with kb_sessions() as session:
        assert session.query(DutyRuleHistory).count() == 0
        loads = session.query(AuditLog).filter(AuditLog.action == "duty_rule.add").count()
        assert loads == len(first.added)


def test_bundle_upgrade_updates_changed_rules_and_respects_admin_changes(rule_sessions):
    with transaction(rule_sessions) as session:
        # Simulate an older shipped version of one rule, an admin override and an admin removal.
        old = session.get(DutyRule, "hotwork.unit")
        old.duty, old.content_hash = "旧表述", "outdated"
        override = parse_rule({**_raw("fire.unit"), "duty": "管理员改写的职责。"})[0]
        upsert_rules(session, [override], actor="admin", source="local.yaml")
        remove_rule(session, "small-venue.police", actor="admin")
        # A rule that the new shipped set no longer contains.
        stale = parse_rule({**_raw("fire.gov"), "id": "retired.rule"})[0]
        upsert_rules(session, [stale], actor="system", source=BUNDLED_SOURCE)
    result = ensure_bundled_rules(rule_sessions)
    assert result.updated == ["hotwork.unit"]
    assert result.removed == ["retired.rule"]
    assert {"fire.unit", "small-venue.police"} <= set(result.kept_local)
    with rule_sessions() as session:
        assert session.get(DutyRule, "hotwork.unit").duty != "旧表述"
        assert session.get(DutyRule, "hotwork.unit").version == 2
        assert session.get(DutyRule, "fire.unit").duty == "管理员改写的职责。"
        assert session.get(DutyRule, "small-venue.police") is None
        assert session.get(DutyRule, "retired.rule") is None
    assert not ensure_bundled_rules(rule_sessions).changed


def test_bundled_rules_wait_for_the_laws(sessions):
    """Before the corpus is ingested nothing is written and the reason is reported."""
    result = ensure_bundled_rules(sessions)
    assert result.errors and "不在知识库中" in result.errors[0]
    with sessions() as session:
        assert session.query(DutyRule).count() == 0


def _raw(rule_id: str) -> dict:
    for raw in bundled_rows():
        if raw.data.get("id") == rule_id:
            return dict(raw.data)
    raise KeyError(rule_id)


def test_validate_rows_accepts_the_bundled_set(kb_sessions):
    with kb_sessions() as session:
        parsed = validate_rows(session, bundled_rows())
    assert len(parsed) == len(_bundled_rules())
