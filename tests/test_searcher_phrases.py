"""Ranking signals that need no model: verbatim question phrases and per-passage BM25 scores."""
from __future__ import annotations

import pytest

from index.keyword_index import KeywordIndex
from index.searcher import compact, phrase_bonuses, phrase_runs


def test_compact_keeps_only_words_and_figures() -> None:
    assert compact("县级综合应急救援队伍，队员不少于60人。") == "县级综合应急救援队伍队员不少于60人"
    assert compact("持证上岗率不足80%") == "持证上岗率不足80%"


@pytest.mark.parametrize(("question", "passage", "share"), [
    # Punctuation in the passage does not break a run the question types without it.
    ("县级综合应急救援队伍队员不少于多少人", "要加快建设县级综合应急救援队伍，队员不少于60人。", 15 / 18),
    ("持证上岗率是多少", "特种作业人员持证上岗率不足80%。", 5 / 8),
    # Words shared one by one, in another order, are no phrase.
    ("持证上岗率是多少", "上岗作业人员必须持有证书。", 0.0),
    ("两字", "两字", 0.0),  # shorter than a phrase
])
def test_phrase_coverage(question: str, passage: str, share: float) -> None:
    question, passage = compact(question), compact(passage)
    assert sum(map(len, phrase_runs(question, passage))) / len(question) == pytest.approx(share)


def test_a_phrase_every_candidate_says_counts_little() -> None:
    question = compact("事故发生后多久要上报")
    texts = {9: compact("事故发生后，事故现场有关人员应当立即向本单位负责人报告。"),
             13: compact("自事故发生之日起30日内，事故造成的伤亡人数发生变化的，应当及时补报。"),
             **{n: compact(f"事故发生单位应当做好第{n}项工作。") for n in range(20, 28)}}
    bonuses = phrase_bonuses(question, texts)
    # "事故发生后" is said by one passage only; "事故发生" by all ten.
    assert bonuses[9] > 2 * bonuses[13] > 0
    assert bonuses[13] == pytest.approx(bonuses[20])
    assert phrase_bonuses("两字", texts) == {}


def test_scores_for_returns_each_passages_bm25_for_some_terms() -> None:
    index = KeywordIndex()
    index.add([10, 11, 12], [["第一季度", "督查"], ["督查", "隐患", "隐患"], ["其他"]])
    full = dict(zip(*(lambda r: (r.ids.tolist(), r.scores.tolist()))(index.search({"督查": 1.0}, 10))))
    part = index.scores_for([12, 11, 99, 10], {"督查": 1.0})
    assert part[0] == 0 and part[2] == 0  # no such term / no such passage
    assert part[1] == pytest.approx(full[11]) and part[3] == pytest.approx(full[10])
