"""Web pages, speeches and notices as admins really load them (tests/data/seed): what is indexed,
what is displayed, what the ingest summary reports. No embedding model needed here."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from index.answer import best_sentences
from index.query import QueryAnalyzer
from index.tokenize import Tokenizer
from knowledge.cleaning import readable, strip_boilerplate
from knowledge.garbled import clean_runs, find_runs, mostly_garbled
from knowledge.parse import parse_document
from knowledge.places import document_place, place_names
from knowledge.segment import TARGET_MAX, _hard_cut, segment
from knowledge.textnorm import to_simplified

SEED = Path(__file__).parent / "data" / "seed"
NEWS = SEED / "hengyang_yuetan_news.html"
TRADITIONAL = SEED / "jiangxi_fire_meeting_traditional.txt"
REPOST = SEED / "jintan_district_speech_repost.txt"
MOJIBAKE = SEED / "county_party_secretary_speech_gbk_mojibake.txt"
REPORT = SEED / "county_inspection_report.txt"
NOTICE = SEED / "changxing_gas_safety_notice.html"
HAZCHEM = SEED / "nanhai_hazchem_inspection_traditional.txt"
TONE = re.compile(r"[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]")
CHROME = ("岳阳要闻", "综合新闻", "分类：", "作者：", "来源：", "发布时间", "访问量", "概要描述", "一审", "二审", "三审",
          "责任编辑", "E-MAIL", "TEL", "微信公众号", "版权所有", "ICP", "无障碍", "Party field", "黨群園地", "發布時間",
          "訪問量", "小编", "供大家参考", "隐藏内容", "江西省政府网", "索引号", "主题分类", "打印本页", "关闭窗口",
          "分享到", "浏览次数", "瀏覽次數", "网站标识码", "網站標識碼", "繁体版", "繁體")


def all_text(doc) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(s.text + "\n" + s.index_text for s in doc.segments)


@pytest.mark.parametrize("path", [NEWS, TRADITIONAL, REPOST, MOJIBAKE, REPORT, NOTICE, HAZCHEM])
def test_no_boilerplate_is_indexed_or_displayed(path: Path) -> None:
    doc = parse_document(path)
    text = all_text(doc)
    for word in CHROME:
        assert word not in text, (path.name, word)
    # The headline names the document and is not a passage of its own.
    assert not any(s.text.strip() == doc.title for s in doc.segments)


def test_news_page_headline_metadata_and_counts() -> None:
    doc = parse_document(NEWS)
    assert doc.title == "衡阳市安委办约谈安全生产考核排名靠后的3个县（市、区）"
    assert doc.kind == "news"
    assert doc.published_on == date(2024, 6, 12)
    assert doc.issuing_body == "衡阳市应急管理局"
    assert doc.jurisdiction == "湖南省衡阳市"
    assert doc.boilerplate["meta"] == 2  # 信息栏 and 【概要描述】
    assert doc.boilerplate["editor"] == 2  # 一审/二审/三审 and 责任编辑
    assert doc.boilerplate["headline"] == 1  # the third copy of the headline
    assert doc.boilerplate["nav"] >= 2
    assert "耒阳市、衡南县、祁东县" in all_text(doc)


def test_an_explicit_title_wins_over_the_headline() -> None:
    assert parse_document(NEWS, title="五月约谈").title == "五月约谈"


def test_traditional_page_with_pinyin_reads_simplified() -> None:
    doc = parse_document(TRADITIONAL)
    assert doc.title == "全省安全生产紧急电视电话会议召开"
    assert doc.jurisdiction == "江西省"
    assert doc.published_on == date(2024, 1, 26)
    assert doc.boilerplate["label"] == 2  # 黨群園地 / Party field
    for seg in doc.segments:
        shown = readable(seg.text)
        assert not TONE.search(shown) and "(" not in shown
        assert to_simplified(shown) == shown
        assert not seg.index_text.startswith("(")
    # The original keeps its annotations for 查看原文.
    assert any("安(ān)全大檢(jiǎn)查" in s.text for s in doc.segments)


def test_repost_preamble_and_paywall_line_are_removed() -> None:
    doc = parse_document(REPOST)
    assert doc.title == "在全区安全生产工作会议上的讲话"
    assert doc.kind == "speech"
    assert doc.boilerplate == {"preamble": 1, "paywall": 1}
    assert doc.jurisdiction == "江苏省常州市金坛区"


def test_mojibake_runs_are_repaired_or_cut_and_the_rest_is_kept() -> None:
    doc = parse_document(MOJIBAKE)
    assert doc.garbled_runs == 5 and doc.repaired_runs == 2
    assert not any(s.garbled for s in doc.segments)
    index = "\n".join(s.index_text for s in doc.segments)
    assert "全面排查燃气管道老化" in index  # UTF-8 read as GBK, decoded back
    assert "对隐患排查治理不力" in index
    for debris in ("獍", "xì", "槠", "⑾", "鐕"):
        assert debris not in index
    # The heading around a cut run survives (and is still a heading); so does a long paragraph
    # with two lost quote marks.
    assert any(readable(s.path) == "二、突出重点领域，深入推进燃…家庭和隐患排查整治" for s in doc.segments)
    assert "各乡镇主要负责同志要严格落实汛期24小时值班和领导带班制度" in index
    assert any("2 处已按正确编码还原" in p and "3 处无法还原" in p for p in doc.problems)


@pytest.mark.parametrize(("text", "fixed"), [
    ("推进燃?xì)獍踩M(jìn)家庭和隐患排查整治", "推进燃…家庭和隐患排查整治"),
    ("由被动应付?轉變?yōu)槠髽I(yè)主动作为", "由被动应付…主动作为"),
    ("抓好?;钒踩⑾腊踩?工作，危险化学品", "抓好…工作，危险化学品"),
    ("全面排查鐕冩皵绠￠亾老化", "全面排查燃气管道老化"),
    ("安全å®‰å…¨ç”Ÿäº§", "安全安全生产"),
])
def test_garbled_runs(text: str, fixed: str) -> None:
    assert clean_runs(text, placeholder="…")[0] == fixed


@pytest.mark.parametrize("text", [
    "确保?关键时刻拿得出、用得上?。", "你知道吗?好的", "对玩忽职守、徇私舞弊的依法处分。", "一氧化碳(CO)浓度",
    "煤矸石堆放场所", "PM2.5(细颗粒物)",
])
def test_clean_text_has_no_runs(text: str) -> None:
    assert find_runs(text) == []


def test_two_lost_characters_do_not_drop_a_paragraph() -> None:
    paragraph = "各乡镇要确保?关键时刻拿得出、用得上?。" + "汛期前要完成全部隐患点巡查，落实责任人和转移路线。" * 16
    assert len(paragraph) > 400
    assert not mostly_garbled(paragraph)
    assert mostly_garbled("鐕冩皵鍏?鍙歌?佺珛鍗冲紑灞曠?￠亾鍜岀敤鎴风??瀹夊叏闅愭偅鎺掓煡锛屽彂鐜伴棶棰樺強鏃舵暣鏀")


def test_chunks_are_measured_without_pinyin_and_never_cut_inside_an_annotation() -> None:
    sentence = "要深入開展安(ān)全生(shēng)產(chǎn)隱(yǐn)患(huàn)排查整治，確保安全生產形勢穩定"
    paragraph = "，".join([sentence] * 30) + "。"  # one long sentence: phrase-packed, then cut
    pieces = segment("一、總體要求\n" + paragraph)
    for piece in pieces:
        shown = readable(piece.text)
        assert len(shown) <= TARGET_MAX
        assert not re.match(r"^\s*[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔù]", piece.text)
    # Pinyin does not halve what a passage holds.
    assert sum(len(readable(p.text)) for p in pieces) / len(pieces) > TARGET_MAX * 0.6
    cut = _hard_cut("安(ān)全生(shēng)產(chǎn)" * 40, 7)
    assert all(p.count("(") == p.count(")") for p in cut)


def test_places_come_from_the_gazetteer() -> None:
    place = document_place("在全区安全生产工作会议上的讲话", "常州市金坛区区长 周明远")
    assert place is not None and place.path == "江苏省常州市金坛区"
    assert "金坛" in place_names(place.path) and "常州" in place_names(place.path)
    assert document_place("全省安全生产工作会议召开") is None


def test_page_without_chrome_keeps_every_line() -> None:
    text = REPORT.read_text(encoding="utf-8")
    cleaned = strip_boilerplate(text)
    assert cleaned.removed == {}
    assert cleaned.text == text.rstrip("\n")


@pytest.fixture(scope="module")
def analyzer() -> QueryAnalyzer:
    return QueryAnalyzer(Tokenizer(), [], None)


def test_excerpt_is_contiguous_and_marks_skips(analyzer: QueryAnalyzer) -> None:
    text = ("要全面推进“人防、物防、技防”三防建设：人防上，配齐配强镇（街道）安监队伍；物防上，重点场所必须按标准配备"
            "消防设施和应急物资；技防上，全区规模以上企业全部接入安全风险监测预警平台。各镇每月至少研究一次安全生产工作。"
            "区安委办每季度对各镇进行考核排名。各部门要加强协调配合，形成齐抓共管、群防群治的良好工作格局，共同守护人民群众生命财产安全和社会大局稳定。"
            "电动自行车违规充电要严查。")
    excerpt = best_sentences(text, analyzer.analyze("三防建设是哪三防？"), Tokenizer())
    assert "人防上" in excerpt and "物防上" in excerpt and "技防上" in excerpt
    excerpt = best_sentences(text, analyzer.analyze("考核排名和违规充电"), Tokenizer(), limit=60)
    # Two sentences that are not adjacent are never joined silently.
    assert excerpt.endswith("区安委办每季度对各镇进行考核排名。…电动自行车违规充电要严查。")


def test_a_lost_character_is_shown_as_a_box_not_a_question_mark() -> None:
    assert readable("确保?关键时刻拿得出、用得上?。") == "确保□关键时刻拿得出、用得上□。"
    assert readable("这是什么?好的") == "这是什么?好的"  # a real question keeps its mark


def test_a_paragraph_full_of_pinyin_is_not_garbled() -> None:
    assert not mostly_garbled("安(ān)全生(shēng)產(chǎn)" * 5)


def test_passages_of_a_notice_carry_their_heading_but_not_the_title() -> None:
    doc = parse_document(NOTICE)
    assert doc.title.startswith("长兴县安全生产委员会办公室关于印发")
    schedule = [s for s in doc.segments if "排查整治阶段" in s.text]
    assert len(schedule) == 1 and schedule[0].path == "四、时间安排"
    # The heading is searchable with the passage; what is shown is the passage as written.
    assert schedule[0].index_text.startswith("四、时间安排\n") and not schedule[0].text.startswith("四、")
    assert not any(doc.title in s.index_text for s in doc.segments)


def test_each_enterprise_of_an_inspection_report_is_a_passage() -> None:
    doc = parse_document(HAZCHEM)
    items = [s for s in doc.segments if s.path == "一、檢查發現的主要問題"]
    assert [s.text[:3] for s in items] == ["（一）", "（二）", "（三）", "（四）"]
    assert doc.issuing_body == "南海区应急管理局"  # from the Traditional 來源 of the 信息栏, shown Simplified
    assert all(s.index_text.startswith("一、检查发现的主要问题\n") for s in items)
