"""Who-answers from the bundled rules: a table of questions as users type them, layers, overlaps, jurisdictions."""
from __future__ import annotations

from pathlib import Path

import yaml

from knowledge.duties.answer import DutyAnswerer
from knowledge.duties.schema import LAYERS

pytest_plugins = ["duties_fixtures"]  # fixtures kb_sessions, rule_sessions

TABLE = yaml.safe_load((Path(__file__).parent / "data" / "duties" / "who_questions.yaml").read_text("utf-8"))


def test_table_has_enough_questions_in_user_styles():
    assert len(TABLE) >= 40
    traditional = [c for c in TABLE if any(ch in c["q"] for ch in "誰歸門個業責")]
    abbreviations = [c for c in TABLE if any(a in c["q"] for a in ("危化品", "住建局", "特种作业证", "应急局", "安监局", "安许证", "安评"))]
    assert len(traditional) >= 4 and len(abbreviations) >= 6


def test_who_questions_table(rule_sessions):
    answerer = DutyAnswerer(rule_sessions, None)
    failures = []
    for case in TABLE:
        answer = answerer.answer(case["q"])
        if answer is None:
            failures.append(f"{case['q']}: no answer")
            continue
        layers = {d.layer for d in answer.duties}
        parties = " | ".join(d.party for d in answer.duties)
        problems = []
        if case["topic"] not in answer.topic:
            problems.append(f"topic {answer.topic!r}")
        problems += [f"missing layer {layer}" for layer in case["layers"] if layer not in layers]
        problems += [f"missing party {p}" for p in case["parties"] if p not in parties]
        if problems:
            failures.append(f"{case['q']}: {', '.join(problems)}")
    assert not failures, "\n".join(failures)


def test_answer_groups_by_layer_and_cites_each_line(rule_sessions):
    answer = DutyAnswerer(rule_sessions, None).answer("谁负责电焊作业安全？")
    order = [LAYERS.index(d.layer) for d in answer.duties]
    assert order == sorted(order)
    text = answer.to_text()
    lines = [ln for ln in text.splitlines() if ln.startswith("• ")]
    assert len(lines) == len(answer.duties)
    assert all("依据：《" in ln and "第" in ln for ln in lines)
    assert text.index("▌企业主体责任") < text.index("▌部门监管责任")
    assert "《安全生产法》第四十三条" in text
    # Several departments on the same topic are flagged so nobody assumes the other one acts.
    assert answer.overlaps and "消防救援机构" in answer.overlaps[0] and "应急管理部门" in answer.overlaps[0]
    assert "职责交叉" in text
    # The most relevant articles follow, with their text.
    assert answer.articles and answer.articles[0].document == "安全生产法"
    assert "专门人员" in answer.articles[0].excerpt


def test_json_shape(rule_sessions):
    data = DutyAnswerer(rule_sessions, None).answer("电焊作业").to_json()
    assert {"topic", "matched_topics", "duties", "overlaps", "note"} <= data.keys()
    assert data["topic"] == "电焊/气焊/动火作业"
    first = data["duties"][0]
    assert {"layer", "party", "duty", "basis", "jurisdiction"} <= first.keys()
    assert first["basis"] == [{"document": "安全生产法", "article": "第四十三条"}]


def test_law_wording_shown_for_renamed_departments(rule_sessions):
    answer = DutyAnswerer(rule_sessions, None).answer("危化品储存谁负责？")
    ema = next(d for d in answer.duties if d.party == "应急管理部门")
    assert ema.law_wording == "安全生产监督管理部门"
    assert "法条原称“安全生产监督管理部门”" in answer.to_text()


def test_jurisdiction_filters_local_rules(rule_sessions):
    unset = DutyAnswerer(rule_sessions, None).answer("动火作业谁负责？")
    assert {d.jurisdiction for d in unset.duties} >= {"全国", "北京市", "上海市", "山东省"}
    assert "［北京市地方规定］" in unset.to_text() and "只适用于" in unset.note

    beijing = DutyAnswerer(rule_sessions, "北京市").answer("动火作业谁负责？")
    assert {d.jurisdiction for d in beijing.duties} == {"全国", "北京市"}
    assert "上海市" in beijing.note and "山东省" in beijing.note  # hidden ones are mentioned
    assert "地方规定］" not in beijing.to_text()  # no need to label: the user's own region

    zhejiang = DutyAnswerer(rule_sessions, "浙江省").answer("动火作业谁负责？")
    assert {d.jurisdiction for d in zhejiang.duties} == {"全国"}


def test_local_only_topic_is_not_answered_elsewhere(rule_sessions):
    answerer = DutyAnswerer(rule_sessions, "北京市")
    answer = answerer.answer("党政同责谁担责？")
    assert any(d.jurisdiction == "北京市" for d in answer.duties)
    other = DutyAnswerer(rule_sessions, "浙江省").answer("党政同责谁担责？")
    assert all(d.jurisdiction == "全国" for d in other.duties)


def test_uncovered_topic_returns_none(rule_sessions):
    answerer = DutyAnswerer(rule_sessions, None)
    assert answerer.answer("谁负责月球基地的绿化？") is None
    assert answerer.answer("") is None


def test_answerer_sees_rule_changes(rule_sessions):
    from knowledge.db import transaction
    from knowledge.duties.repository import remove_rule

    answerer = DutyAnswerer(rule_sessions, None)
    assert any(d.party == "公安派出所" for d in answerer.answer("九小场所谁管？").duties)
    with transaction(rule_sessions) as session:
        remove_rule(session, "small-venue.police", actor="tester")
    assert not any(d.party == "公安派出所" for d in answerer.answer("九小场所谁管？").duties)
