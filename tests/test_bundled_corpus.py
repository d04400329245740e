"""The product on its bundled laws: first-run loading, exact references, cited answers, abstention, CLI JSON.

Built once per session (embedding the 1,657 articles is the slow part), on SQLite.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from index.knowledge_base import KnowledgeBase
from knowledge.models import Document, Passage

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(bundled: KnowledgeBase) -> dict[str, str]:
    s = bundled.settings
    return {"SAFETYBOT_DATA_DIR": str(s.data_dir), "SAFETYBOT_MODEL_DIR": str(s.models_dir)}


def test_first_run_loads_all_bundled_laws(bundled: KnowledgeBase) -> None:
    with bundled.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 27
        assert s.scalar(select(func.count()).select_from(Passage).where(Passage.article.is_not(None))) == 1657
        indexable = s.scalar(select(func.count()).select_from(Passage).where(Passage.garbled.is_(False)))
        kinds = dict(s.execute(select(Document.title, Document.kind)).all())
    assert kinds["安全生产法"] == "law" and kinds["北京市安全生产条例"] == "local_regulation"
    assert len(bundled.store.keyword) == indexable >= 1657
    assert bundled.ensure_bundled() == []  # second start: nothing to load


@pytest.mark.parametrize(
    ("question", "document", "article"),
    [
        ("安全生产法第21条", "安全生产法", "第二十一条"),
        ("安法第四十一条", "安全生产法", "第四十一条"),
        ("消防法 21", "消防法", "第二十一条"),
        ("《刑法》第一百三十四条之一", "刑法", "第一百三十四条之一"),
        ("特种设备安全法第三十三條", "特种设备安全法", "第三十三条"),
    ],
)
def test_exact_references_resolve_by_lookup(bundled: KnowledgeBase, question: str, document: str, article: str) -> None:
    answer = bundled.answer(question)
    assert answer.kind == "reference" and not answer.abstained
    assert [(c.document, c.article) for c in answer.citations] == [(document, article)]
    assert answer.answer.startswith(f"《{document}》{article}")


def test_reference_to_missing_article_says_so(bundled: KnowledgeBase) -> None:
    answer = bundled.answer("安全生产法第999条")
    assert answer.abstained and answer.citations == [] and "没有第九百九十九条" in answer.answer


@pytest.mark.parametrize(
    ("question", "document", "article"),
    [
        ("爆破吊装等危险作业需要安排专门人员现场管理吗", "安全生产法", "第四十三条"),
        ("一次死亡3人的事故属于哪个等级", "生产安全事故报告和调查处理条例", "第三条"),
        ("单位的特种设备使用前要去哪里办理使用登记", "特种设备安全法", "第三十三条"),
        ("生產經營單位的從業人員有權拒絕違章指揮嗎", "安全生产法", "第五十四条"),
        ("举办大型群众性活动要向哪个部门申请安全许可", "大型群众性活动安全管理条例", "第十一条"),
    ],
)
def test_questions_get_the_right_article_cited(bundled: KnowledgeBase, question: str, document: str, article: str) -> None:
    answer = bundled.answer(question)
    assert not answer.abstained
    assert (document, article) in [(c.document, c.article) for c in answer.citations[:5]]
    assert answer.answer.startswith("依据《")


@pytest.mark.parametrize("question", ["糖醋排骨怎么做", "明天去杭州的高铁几点发车", "What's a good laptop for gaming?",
                                      "周末带孩子去哪里玩"])
def test_off_topic_questions_abstain_without_citations(bundled: KnowledgeBase, question: str) -> None:
    answer = bundled.answer(question)
    assert answer.abstained and answer.citations == []
    assert answer.answer.startswith("现有资料中没有找到")


def test_local_regulation_is_labelled_outside_its_jurisdiction(bundled: KnowledgeBase) -> None:
    answer = bundled.answer("北京市安全生产条例第十六条")
    assert answer.citations[0].label == "北京市地方性法规"


def test_ask_json_shape(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["ask", "动火作业现场要安排专人管理吗", "--format", "json"], env=cli_env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"question", "answer", "abstained", "citations"} <= set(data)
    assert data["abstained"] is False and data["citations"]
    first = data["citations"][0]
    assert set(first) == {"document", "article", "score", "excerpt"}
    assert isinstance(first["score"], float) and first["article"].startswith("第")


def test_ask_rejects_empty_question_politely(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["ask", ""], env=cli_env)
    assert result.exit_code != 0 and "问题是空的" in result.output


def test_eval_json_shape(cli_env: dict[str, str], tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "T1", "question": "安全生产许可证有效期几年", "gold": [{"law": "安全生产许可证条例", "article": "第九条"}],
         "style": "plain"},
        {"id": "T2", "question": "事故發生後單位負責人多長時間內要報告", "gold": [
            {"law": "生产安全事故报告和调查处理条例", "article": "第九条"}], "style": "traditional"},
    ]
    questions.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", str(questions), "--format", "json"], env=cli_env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n"] == 2 and set(data["latency_ms"]) == {"p50", "p95"}
    assert {"recall@1", "recall@5", "recall@10", "mrr"} <= set(data)
    assert set(data["by_style"]) == {"plain", "traditional"}
    assert data["recall@10"] == 1.0


def test_docs_lists_documents(cli_env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["docs", "--format", "json"], env=cli_env)
    assert result.exit_code == 0, result.output
    docs = {d["title"]: d for d in json.loads(result.stdout)}
    assert docs["安全生产法"]["status"] == "现行有效" and docs["安全生产法"]["passages"] == 119


def test_chat_session_answers_and_exits(cli_env: dict[str, str]) -> None:
    session = "动火作业现场要安排专人管理吗\n\n红烧肉怎么做\n退出\n"
    result = CliRunner().invoke(main, ["chat"], input=session, env=cli_env)
    assert result.exit_code == 0, result.output
    assert "《安全生产法》第四十三条" in result.output
    assert "现有资料中没有找到" in result.output  # the off-topic question in the same session


# ---------------------------------------------------------------- core questions a new user asks

@pytest.mark.parametrize(("question", "document", "article"), [
    ("什么是三管三必须", "安全生产法", "第三条"),  # the slogan abbreviates the article's wording
    ("安委办的职责是什么", "北京市安全生产条例", "第六条"),  # everyday name of the body
    ("安委会的职责是什么", "北京市安全生产条例", "第六条"),
])
def test_names_and_abbreviations_are_answered(bundled: KnowledgeBase, question: str, document: str,
                                              article: str) -> None:
    answer = bundled.answer(question)
    assert not answer.abstained
    assert (answer.citations[0].document, answer.citations[0].article) == (document, article)


def test_a_question_answered_by_two_articles_quotes_both_in_order(bundled: KnowledgeBase) -> None:
    answer = bundled.answer("事故发生后多久要上报？")
    assert not answer.abstained
    nine = answer.answer.index("第九条：")
    eleven = answer.answer.index("第十一条：")
    assert nine < eleven  # the unit's 1-hour rule first, then the 2-hour rule between levels
    assert "1小时内" in answer.answer and "不得超过2小时" in answer.answer
    assert [c.article for c in answer.citations[:2]] == ["第九条", "第十一条"]


def test_a_question_naming_no_sector_gets_the_general_rule_first(bundled: KnowledgeBase) -> None:
    answer = bundled.answer("特种作业人员需要持证上岗吗")
    assert (answer.citations[0].document, answer.citations[0].article) == ("安全生产法", "第三十条")
    # Naming the sector still brings the sector's rule forward.
    mine = bundled.answer("煤矿井下特种作业人员需要持证上岗吗")
    assert mine.citations[0].document in ("煤矿安全生产条例", "矿山安全法", "矿山安全法实施条例")
