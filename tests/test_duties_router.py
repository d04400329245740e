"""Routing: who-questions go to the duty rules, plain regulation questions do not (measured error rates)."""
from __future__ import annotations

from pathlib import Path

from knowledge.duties.answer import DutyAnswerer
from knowledge.duties.router import is_who_question

pytest_plugins = ["duties_fixtures"]  # fixtures kb_sessions, rule_sessions

LABELLED = [
    tuple(line.split("\t", 1))
    for line in (Path(__file__).parent / "data" / "duties" / "routing_labelled.tsv").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
WHO = [q for label, q in LABELLED if label == "who"]
PLAIN = [q for label, q in LABELLED if label == "plain"]
MAX_ERROR_RATE = 0.05


def test_labelled_set_is_large_enough():
    assert len(LABELLED) >= 60 and len(WHO) >= 30 and len(PLAIN) >= 30
    assert {label for label, _ in LABELLED} == {"who", "plain"}


def test_router_error_rates():
    missed = [q for q in WHO if not is_who_question(q)]
    misrouted = [q for q in PLAIN if is_who_question(q)]
    miss_rate, misroute_rate = len(missed) / len(WHO), len(misrouted) / len(PLAIN)
    print(f"\nwho-questions missed: {len(missed)}/{len(WHO)} = {miss_rate:.1%}; "
          f"plain questions misrouted: {len(misrouted)}/{len(PLAIN)} = {misroute_rate:.1%}")
    assert miss_rate <= MAX_ERROR_RATE, missed
    assert misroute_rate <= MAX_ERROR_RATE, misrouted


def test_examples_from_the_issue():
    for q in ("谁负责电焊作业安全？", "有限空间作业出事谁担责？", "九小场所消防归哪个部门管？", "乡镇在安全生产上管什么？",
              "这事由谁负责", "危化品归谁管", "消防哪个部门管", "出事谁担责", "安全责任人是谁", "隐患谁来查",
              "Who is responsible for confined space work?", "誰負責動火作業？", "九小場所歸哪個部門管"):
        assert is_who_question(q), q
    for q in ("事故多久内要上报？", "电梯多少天内要办使用登记？", "没有安许证就开工生产，罚多少？", "", "   "):
        assert not is_who_question(q), q


def test_routed_who_questions_are_answered_from_rules(rule_sessions):
    """End to end: a who-question that a rule covers gets a rule answer."""
    answerer = DutyAnswerer(rule_sessions, None)
    routed = [q for q in WHO if is_who_question(q)]
    unanswered = [q for q in routed if answerer.answer(q) is None]
    print(f"\nrouted who-questions without a rule answer: {len(unanswered)}/{len(routed)}")
    assert len(unanswered) / len(routed) <= MAX_ERROR_RATE, unanswered
