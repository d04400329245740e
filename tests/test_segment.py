"""Statute-aware segmentation of the bundled laws and chunking of free text."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from knowledge.parse import bundled_corpus_dir
from knowledge.segment import ITEM_MIN, TARGET_MAX, TARGET_MIN, Segment, segment, split_sentences

ARTICLE_LINE = re.compile(r"^第[一二三四五六七八九十百千零〇]+条", re.M)
LAW_FILES = sorted(p for p in bundled_corpus_dir().glob("*.md") if p.name != "SOURCES.md")


def law_body(name: str) -> str:
    return (bundled_corpus_dir() / f"{name}.md").read_text(encoding="utf-8").split("<!-- INFO END -->", 1)[1]


def article(segments: list[Segment], no: int, sub: int = 0) -> Segment:
    found = [s for s in segments if s.article_no == no and s.article_sub == sub]
    assert len(found) == 1, (no, sub, len(found))
    return found[0]


def test_corpus_has_27_laws() -> None:
    assert len(LAW_FILES) == 27


@pytest.mark.parametrize("path", LAW_FILES, ids=lambda p: p.stem)
def test_one_passage_per_article(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = len(ARTICLE_LINE.findall(text))
    segments = segment(text.split("<!-- INFO END -->", 1)[1])
    articles = [s for s in segments if s.article is not None]
    assert len(articles) == expected
    # Each article appears once, in order of the file.
    keys = [(s.article_no, s.article_sub) for s in articles]
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys)


def test_total_article_count() -> None:
    total = 0
    for path in LAW_FILES:
        body = path.read_text(encoding="utf-8").split("<!-- INFO END -->", 1)[1]
        total += sum(1 for s in segment(body) if s.article)
    assert total == 1657


def test_work_safety_law_paths_and_texts() -> None:
    segments = segment(law_body("安全生产法"))
    a43 = article(segments, 43)
    assert a43.article == "第四十三条"
    assert a43.path == "第二章 生产经营单位的安全生产保障"
    assert a43.text.startswith("第四十三条 生产经营单位进行爆破、吊装、动火、临时用电")
    assert article(segments, 1).path == "第一章 总则"
    assert article(segments, 62).path.startswith("第四章 安全生产的监督管理")
    # A multi-paragraph article keeps all its paragraphs, and nothing of the next one.
    a3 = article(segments, 3)
    assert a3.text.split("\n") == [
        "第三条 安全生产工作坚持中国共产党的领导。",
        "安全生产工作应当以人为本，坚持人民至上、生命至上，把保护人民生命安全摆在首位，树牢安全发展理念，坚持安全第一、预防为主、综合治理的方针，从源头上防范化解重大安全风险。",
        "安全生产工作实行管行业必须管安全、管业务必须管安全、管生产经营必须管安全，强化和落实生产经营单位主体责任与政府监管责任，建立生产经营单位负责、职工参与、政府监管、行业自律和社会监督的机制。",
    ]
    # Items (一)…(七) belong to their article.
    a21 = article(segments, 21)
    items = [line for line in a21.text.split("\n") if line.startswith("（")]
    assert items[0].startswith("（一）") and items[-1].startswith("（七）")
    assert "第二十二条" not in a21.text


def test_section_paths() -> None:
    segments = segment(law_body("特种设备安全法"))
    paths = {s.path for s in segments}
    assert "第二章 生产、经营、使用 / 第一节 一般规定" in paths
    assert "第二章 生产、经营、使用 / 第四节 使用" in paths
    # Leaving a section for the next chapter drops the section from the path.
    assert "第三章 检验、检测" in paths


def test_spaced_chapter_titles_are_collapsed() -> None:
    segments = segment(law_body("北京市安全生产条例"))
    assert article(segments, 1).path == "第一章 总则"


def test_criminal_law_sub_articles() -> None:
    segments = segment(law_body("刑法"))
    a = article(segments, 134, 1)
    assert a.article == "第一百三十四条之一"
    assert a.path == "第二编 分则 / 第二章 危害公共安全罪"
    assert a.text.startswith("第一百三十四条之一 ")
    assert "第一百三十五条" not in a.text
    assert article(segments, 134).article == "第一百三十四条"
    assert article(segments, 120, 6).article == "第一百二十条之六"


def test_traditional_articles_and_plain_headings() -> None:
    text = "\n".join([
        "第一章 總則",
        "第一條 為了加強安全生產工作，制定本條例。",
        "第二條 本條例適用於本市行政區域。",
        "第二章 責任",
        "第三條之一 生產經營單位應當建立健全全員安全生產責任制。",
        "（一）建立責任制；",
        "（二）組織培訓。",
    ])
    segments = segment(text)
    assert [(s.article, s.article_no, s.article_sub, s.path) for s in segments] == [
        ("第一条", 1, 0, "第一章 總則"),
        ("第二条", 2, 0, "第一章 總則"),
        ("第三条之一", 3, 1, "第二章 責任"),
    ]
    assert segments[2].text.endswith("（二）組織培訓。")
    assert segments[0].text == "第一條 為了加強安全生產工作，制定本條例。"


def test_article_ends_at_next_heading() -> None:
    text = "## 第一章 总则\n第一条 甲。\n第二条 乙。\n第三条 丙。\n\n## 第二章 附则\n第四条 丁。"
    segments = segment(text)
    assert article(segments, 3).text == "第三条 丙。"
    assert article(segments, 4).path == "第二章 附则"


def test_preamble_before_articles_is_kept_as_free_text() -> None:
    text = "为依法惩治危害生产安全犯罪，现就有关问题解释如下：\n第一条 甲。\n第二条 乙。\n第三条 丙。"
    segments = segment(text)
    assert segments[0].article is None
    assert segments[0].text == "为依法惩治危害生产安全犯罪，现就有关问题解释如下："
    assert [s.article for s in segments[1:]] == ["第一条", "第二条", "第三条"]


def test_article_references_inside_prose_do_not_make_a_statute() -> None:
    text = "会议指出，要认真落实安全生产法第二十一条规定的主要负责人职责。\n第二十一条规定的七项职责必须逐项落实。"
    assert all(s.article is None for s in segment(text))


def _sentence_text(n: int) -> str:
    return "".join(f"这是第{i}句话，用来检验分段是否在句子边界处断开，并且长度合适。" for i in range(n))


def test_free_text_chunks_are_sentence_bounded() -> None:
    paragraphs = [_sentence_text(k) for k in (3, 9, 1, 14, 2)]
    segments = segment("\n\n".join(paragraphs))
    assert len(segments) >= 3
    for s in segments:
        assert s.article is None and s.path == ""
        assert len(s.text) <= TARGET_MAX
        assert s.text.endswith("。")
    # Nothing lost, nothing duplicated.
    assert "".join(s.text.replace("\n", "") for s in segments) == "".join(paragraphs)
    # Chunks are not needlessly small: all but the last reach the minimum or end a paragraph.
    sizes = [len(s.text) for s in segments]
    assert sum(1 for n in sizes if n >= TARGET_MIN) >= len(sizes) - 2


def test_unstructured_single_block_gets_chunks() -> None:
    text = _sentence_text(40)  # one line, no headings, ~1,300 characters
    segments = segment(text)
    assert len(segments) >= 3
    assert all(TARGET_MIN <= len(s.text) <= TARGET_MAX for s in segments[:-1])
    assert all(s.text.endswith("。") for s in segments)
    assert "".join(s.text for s in segments) == text


def test_overlong_sentence_is_split_at_clauses() -> None:
    clause = "生产经营单位应当对从业人员进行安全生产教育和培训"
    sentence = "，".join([clause] * 30) + "。"
    assert len(sentence) > TARGET_MAX
    pieces = split_sentences(sentence)
    assert len(pieces) >= 2
    assert all(len(p) <= TARGET_MAX for p in pieces)
    assert all(p.endswith(("，", "。")) for p in pieces)
    assert "".join(pieces) == sentence


def test_sentence_without_any_punctuation_is_hard_split() -> None:
    blob = "安全" * 600
    pieces = split_sentences(blob)
    assert [len(p) for p in pieces] == [TARGET_MAX, TARGET_MAX, 1200 - 2 * TARGET_MAX]


def test_closing_quotes_stay_with_their_sentence() -> None:
    assert split_sentences("他说：“必须整改。”随后离开。") == ["他说：“必须整改。”", "随后离开。"]


def test_no_empty_or_punctuation_only_chunks() -> None:
    text = "\n\n".join(["……", "——", "。。。", _sentence_text(2), "  ", "**", "；"])
    segments = segment(text)
    assert len(segments) == 1
    assert segments[0].text == _sentence_text(2)
    assert segment("……\n——\n") == []


def test_free_text_headings_build_paths() -> None:
    text = "\n".join([
        "# 关于做好安全生产工作的意见",
        "一、总体要求",
        _sentence_text(3),
        "二、主要任务",
        "（一）压实责任",
        _sentence_text(2),
        "（一）加强领导。各地要把安全生产摆上重要议事日程。",
    ])
    segments = segment(text)
    assert [s.path for s in segments] == ["一、总体要求", "二、主要任务 / （一）压实责任"]
    # A numbered paragraph that is a full sentence is content, not a heading.
    assert segments[-1].text.endswith("各地要把安全生产摆上重要议事日程。")
    assert all("关于做好安全生产工作的意见" not in s.text for s in segments)


def test_garbled_paragraph_becomes_its_own_chunk() -> None:
    good = _sentence_text(2)
    original = "燃气公司要立即开展管道和用户端安全隐患排查，发现问题及时整改。"
    bad = original.encode("utf-8").decode("gbk", errors="replace")
    segments = segment("\n".join([good, bad, good]))
    assert [s.text for s in segments] == [good, bad, good]


def test_single_article_excerpt_is_an_article() -> None:
    segments = segment("第四十三条 生产经营单位进行爆破、吊装、动火等危险作业，应当安排专门人员进行现场安全管理。")
    assert [(s.article, s.article_no) for s in segments] == [("第四十三条", 43)]
    # Two articles quoted after an introduction stay free text.
    quoted = segment("会议传达了以下条文：\n第一条 甲。\n第二条 乙。")
    assert all(s.article is None for s in quoted)


def test_enumerated_items_are_passages_of_their_own() -> None:
    items = [f"（{n}）第{n}项问题。" + "某企业安全管理人员配备不足，隐患排查治理流于形式。" * 2 for n in "一二三"]
    segments = segment("\n".join(["二、存在的主要问题", *items]))
    assert [s.text for s in segments] == items
    assert all(s.path == "二、存在的主要问题" and s.heading_in_index for s in segments)


def test_items_enumerated_inside_a_paragraph_are_split_too_but_keep_their_lead_in() -> None:
    lead = "会议要求，重点抓好以下工作。"
    body = "对商场市场、宾馆饭店、学校医院等人员密集场所逐一排查，确保安全出口、疏散通道畅通，严禁占用。"
    text = lead + "".join(f"{n}是第{n}项工作。{body}" for n in "一二三")
    segments = segment(text)
    assert [s.text[:3] for s in segments] == ["会议要", "二是第", "三是第"]
    assert segments[0].text.startswith(lead + "一是")


def test_short_items_are_packed_and_a_last_item_is_not_folded_back() -> None:
    short = ["1.动员部署阶段：5月31日前。", "2.排查整治阶段：6月1日至9月30日。", "3.巩固提升阶段：10月1日至11月30日。",
             "4.总结验收阶段：12月15日前。县安委办组织验收，形成总结报告报市安委办，并对各地工作情况进行通报。"]
    assert all(len(s) < ITEM_MIN for s in short[:3]) and len(short[3]) >= ITEM_MIN
    segments = segment("\n".join(["四、时间安排", *short]))
    # 1–3 are packed until ITEM_MIN; the last stage stays a passage of its own.
    assert [s.text[:2] for s in segments] == ["1.", "4."]
    assert segments[0].text.count("\n") == 2


def test_statute_articles_do_not_index_their_chapter() -> None:
    segments = segment(law_body("安全生产法"))
    assert not any(s.heading_in_index for s in segments if s.article)
