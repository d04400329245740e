"""Candidate rules from a loaded document: each pattern finds its party; nothing is written."""
from __future__ import annotations

from knowledge.duties.models import DutyRule
from knowledge.duties.suggest import candidates_yaml, guess_layer, suggest_rules

pytest_plugins = ["duties_fixtures"]  # fixture kb_sessions


def _find(candidates, article, pattern):
    return [c for c in candidates if c.article == article and c.pattern == pattern]


def test_each_pattern_proposes_the_party_of_a_real_article(kb_sessions):
    with kb_sessions() as session:
        law = suggest_rules(session, "安全生产法", limit=500)
        fireworks = suggest_rules(session, "烟花爆竹安全管理条例")
        chemicals = suggest_rules(session, "危险化学品安全管理条例", limit=500)
        shanghai = suggest_rules(session, "上海市消防条例", limit=500)
        assert suggest_rules(session, "不存在的法规") is None
        assert session.query(DutyRule).count() == 0  # suggestions are never stored

    first = _find(law, "第五条", "第一责任人")
    assert first and first[0].party == "生产经营单位的主要负责人" and first[0].layer == "企业主体责任"

    supervise = _find(fireworks, "第四条", "…负责…的监督管理")
    assert supervise and supervise[0].party == "应急管理部门"
    assert supervise[0].law_wording == "安全生产监督管理部门" and supervise[0].layer == "部门监管责任"

    overall = _find(chemicals, "第四条", "…对本单位…全面负责")
    assert overall and "主要负责人" in overall[0].party

    by = [c for c in shanghai if c.pattern == "由…负责"]
    assert any("消防救援机构" in c.party for c in by)
    assert all(c.jurisdiction == "上海市" for c in shanghai)

    shall = _find(law, "第八十一条", "应当")
    assert shall and shall[0].party == "生产经营单位"
    # Evidence is verbatim article text, so a reviewed candidate passes basis validation.
    assert shall[0].evidence.startswith("生产经营单位应当制定本单位生产安全事故应急救援预案")


def test_candidates_yaml_needs_review_before_loading():
    from knowledge.duties.suggest import Candidate

    text = candidates_yaml([Candidate("x-第一条-1", "企业主体责任", "生产经营单位", "应当……", "某法", "第一条",
                                      "生产经营单位应当", "应当", None, "全国")], "某法")
    assert text.startswith("# 由《某法》自动生成的候选职责规则，仅供审核，尚未发布。")
    assert "topic: ''" in text


def test_layer_guesses():
    assert guess_layer("县级以上人民政府公安机关") == "部门监管责任"
    assert guess_layer("乡镇人民政府、城市街道办事处") == "属地管理责任"
    assert guess_layer("各级人民政府主要负责人") == "党政领导责任"
    assert guess_layer("生产经营单位的安全生产管理机构") == "企业主体责任"
    assert guess_layer("特种作业人员") == "从业人员/岗位"
