"""Seed-like uploads answered end to end with the real model: the right passage first, an excerpt
a person can read, duplicates detected, places steering (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from index.knowledge_base import KnowledgeBase
from knowledge import documents
from knowledge.config import Settings
from knowledge.models import AuditLog, Document
from knowledge.readers import IngestError
from knowledge.textnorm import normalize, to_simplified

pytestmark = pytest.mark.slow

SEED = Path(__file__).parent / "data" / "seed"
DOCS = ["hengyang_yuetan_news.html", "jiangxi_fire_meeting_traditional.txt", "jintan_district_speech_repost.txt",
        "county_party_secretary_speech_gbk_mojibake.txt", "county_inspection_report.txt",
        "changxing_gas_safety_notice.html", "nanhai_hazchem_inspection_traditional.txt"]
CHROME = ("一审", "责任编辑", "访问量", "来源：", "概要描述", "小编", "隐藏内容", "E-MAIL", "微信公众号", "岳阳要闻",
          "Party field", "首页", "索引号", "主题分类", "打印本页", "关闭窗口", "分享到", "浏览次数", "网站标识码")
TONE = re.compile(r"[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]")


@pytest.fixture
def kb(settings: Settings, embedder) -> KnowledgeBase:  # type: ignore[no-untyped-def]
    return Runtime(settings, embedder=embedder).knowledge


@pytest.fixture
def loaded(kb: KnowledgeBase) -> dict[str, str]:
    return {name: kb.ingest(SEED / name, "admin").title for name in DOCS}


def test_seed_questions_get_the_right_passage_with_a_readable_excerpt(kb: KnowledgeBase,
                                                                      loaded: dict[str, str]) -> None:
    questions = [json.loads(line) for line in (SEED / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    right = 0
    for q in questions:
        answer = kb.answer(q["question"])
        top = answer.citations[0] if answer.citations else None
        if top and top.document == loaded[q["source"]] and normalize(q["answer"]) in normalize(top.excerpt):
            right += 1
        for c in answer.citations:
            assert not any(word in c.excerpt for word in CHROME), c.excerpt
            assert not TONE.search(c.excerpt) and to_simplified(c.excerpt) == c.excerpt, c.excerpt
    assert right / len(questions) >= 0.9, right


def test_view_original_keeps_the_untouched_text(kb: KnowledgeBase, loaded: dict[str, str]) -> None:
    answer = kb.answer("全省安全大检查对人员密集场所有什么要求？")
    top = answer.citations[0]
    assert "安全大检查" in top.excerpt and "(" not in top.excerpt
    original = kb.passage(top.passage_id)
    assert original is not None and "安(ān)全大檢(jiǎn)查" in original.text


def test_ingest_summary_reports_what_was_removed(kb: KnowledgeBase) -> None:
    report = kb.ingest(SEED / "hengyang_yuetan_news.html", "admin")
    assert report.title == "衡阳市安委办约谈安全生产考核排名靠后的3个县（市、区）"
    summary = report.cleaning_summary()
    assert "导航与菜单" in summary and "编辑署名 2 行" in summary and "重复的标题 1 行" in summary
    with kb.sessions() as s:
        doc = s.scalar(select(Document).where(Document.title == report.title))
        assert doc.published_on.isoformat() == "2024-06-12" and doc.issuing_body == "衡阳市应急管理局"
        assert doc.jurisdiction == "湖南省衡阳市"
    mojibake = kb.ingest(SEED / "county_party_secretary_speech_gbk_mojibake.txt", "admin")
    assert (mojibake.garbled_runs, mojibake.repaired_runs) == (5, 2)
    assert "乱码片段 5 处（还原 2 处）" in mojibake.cleaning_summary()


def test_duplicates_are_refused_replaced_or_kept_but_never_cited_twice(kb: KnowledgeBase) -> None:
    original = kb.ingest(SEED / "hengyang_yuetan_news.html", "admin").title
    copy = SEED / "repost_yuetan_copy.html"
    with pytest.raises(IngestError) as refused:
        kb.ingest(copy, "admin", title="转载：五月约谈")
    assert refused.value.code == "duplicate" and original in refused.value.message
    assert "--duplicate replace" in refused.value.message
    with kb.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 1

    kept = kb.ingest(copy, "admin", title="转载：五月约谈", duplicate="keep")
    assert kept.duplicate_of == original
    answer = kb.answer("被约谈的县要在多长时间内报送整改报告？")
    texts = [normalize(c.text) for c in answer.citations]
    assert len(texts) == len(set(texts))  # the copy's identical passage is not cited again

    replaced = kb.ingest(copy, "admin", title="转载：五月约谈（新）", duplicate="replace")
    assert replaced.replaced_duplicate in (original, "转载：五月约谈")
    assert replaced.removed == kept.added  # the replaced document's passages are counted as removed
    with kb.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 2
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "document.remove")) == 1


def test_a_replacement_that_fails_half_way_leaves_the_original_alone(kb: KnowledgeBase,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    original = kb.ingest(SEED / "hengyang_yuetan_news.html", "admin").title

    def crash(*args: object) -> None:
        raise RuntimeError("power cut while removing the original")

    monkeypatch.setattr(documents, "remove_document", crash)
    with pytest.raises(RuntimeError):
        kb.ingest(SEED / "repost_yuetan_copy.html", "admin", title="转载：五月约谈", duplicate="replace")
    with kb.sessions() as s:
        assert list(s.scalars(select(Document.title))) == [original]  # the copy was not loaded either
    assert kb.answer("被约谈的县要在多长时间内报送整改报告？").citations[0].document == original


def test_two_copies_loaded_at_the_same_moment_are_not_both_kept(kb: KnowledgeBase) -> None:
    start = threading.Barrier(2)

    def load(title: str) -> str:
        start.wait()
        try:
            return kb.ingest(SEED / "hengyang_yuetan_news.html", "admin", title=title).title
        except IngestError as exc:
            return exc.code

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(load, ["约谈（甲）", "约谈（乙）"]))
    assert outcomes[0] == "duplicate" and outcomes[1].startswith("约谈")
    with kb.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 1


def test_a_place_named_in_the_question_steers(kb: KnowledgeBase, tmp_path: Path) -> None:
    body = ("同志们：\n今天召开全{level}安全生产工作会议。要严格执行有限空间作业“先通风、再检测、后作业”的要求，"
            "出租厂房出租方与承租方必须签订专门的安全生产管理协议，每个镇（街道）专职安全监管人员不少于{n}人。\n")
    for name, place, level, n in (("a.txt", "常州市金坛区区长", "区", 5), ("b.txt", "衡阳市市长", "市", 8)):
        (tmp_path / name).write_text(f"在全{level}安全生产工作会议上的讲话\n{place} 张三\n" + body.format(level=level, n=n),
                                     encoding="utf-8")
        kb.ingest(tmp_path / name, "admin", title=f"{place}讲话", duplicate="keep")
    for question, expected in (("金坛专职安全监管人员不少于几人？", "常州市金坛区区长讲话"),
                               ("衡阳专职安全监管人员不少于几人？", "衡阳市市长讲话")):
        assert kb.answer(question).citations[0].document == expected


def test_a_notice_copied_with_its_disclosure_table_is_named_by_its_headline(kb: KnowledgeBase) -> None:
    report = kb.ingest(SEED / "changxing_gas_safety_notice.html", "admin")
    # Not the signature line "长兴县安全生产委员会办公室", which also occurs inside the headline.
    assert report.title == "长兴县安全生产委员会办公室关于印发《长兴县城镇燃气安全专项整治工作实施方案》的通知"
    assert report.boilerplate.get("meta") == 3  # the 索引号 / 发布机构 / 文号 rows
    with kb.sessions() as s:
        doc = s.scalar(select(Document).where(Document.title == report.title))
        assert doc.jurisdiction == "浙江省湖州市长兴县" and doc.kind == "notice"
        assert not any("索引号" in p.text or "打印本页" in p.text for p in doc.passages)


def test_the_opening_that_restates_the_title_does_not_answer_for_the_whole_document(kb: KnowledgeBase) -> None:
    # The 通报's opening paragraph repeats "第一季度…督查" of its title; the paragraph with the
    # figures answers. Likewise the 方案's cover letter repeats "长兴县城镇燃气安全专项整治".
    kb.ingest(SEED / "county_inspection_report.txt", "admin")
    kb.ingest(SEED / "changxing_gas_safety_notice.html", "admin")
    top = kb.answer("第一季度督查发现了多少项隐患问题？").citations[0]
    assert "214项" in top.excerpt and top.path == "一、总体情况"
    top = kb.answer("长兴县燃气整治的排查整治阶段是什么时间？").citations[0]
    assert "6月1日至9月30日" in top.excerpt and top.path.endswith("四、时间安排")


def test_a_verbatim_figure_in_an_upload_beats_the_general_rule_only_when_asked_for(bundled_copy: Path,
                                                                                    models_dir: Path,
                                                                                    embedder) -> None:  # type: ignore[no-untyped-def]
    kb = Runtime(Settings(data_dir=bundled_copy, model_dir=models_dir, _env_file=None), embedder=embedder).knowledge
    report = kb.ingest(SEED / "county_inspection_report.txt", "admin").title
    # "持证上岗率" is said word for word only by the report ...
    top = kb.answer("特种作业人员持证上岗率是多少？").citations[0]
    assert top.document == report and "不足80%" in top.excerpt
    # ... while the rule itself is still the law's.
    top = kb.answer("特种作业人员需要持证上岗吗？").citations[0]
    assert (top.document, top.article) == ("安全生产法", "第三十条")
    # Each enterprise's problems are a passage of their own, found under their heading.
    kb.ingest(SEED / "nanhai_hazchem_inspection_traditional.txt", "admin")
    top = kb.answer("恒达化工存在什么问题？").citations[0]
    assert top.path == "一、检查发现的主要问题"
    assert "甲类仓库内违规存放超量危险化学品" in top.excerpt and "润丰涂料" not in top.text
