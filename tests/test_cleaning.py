"""Pinyin stripping, boilerplate removal and garble detection."""
from __future__ import annotations

import pytest

from knowledge.cleaning import (
    garble_score, index_text, is_garbled, remove_boilerplate, strip_boilerplate, strip_pinyin,
)
from knowledge.parse import bundled_corpus_dir
from knowledge.segment import segment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("安(ān)全生產(chǎn)", "安全生產"),
        ("安（ān）全生（shēng）產（chǎn）工作", "安全生產工作"),
        ("安全生产(ān quán shēng chǎn)管理", "安全生产管理"),
        ("安全生产(an1 quan2 sheng1 chan3)", "安全生产"),
        ("绿(lv4)色", "绿色"),
        ("燃(ran)气(qi)公司", "燃气公司"),
        ("安全(anquan)第一", "安全第一"),
        ("安 (ān) 全", "安全"),
        ("隐（yǐn）患（huàn）排查", "隐患排查"),
    ],
)
def test_strip_pinyin(text: str, expected: str) -> None:
    assert strip_pinyin(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "一氧化碳(CO)浓度", "执行标准(GB 50016)要求", "压力(pressure)测试", "下列情形(a)", "液化天然气(LNG)",
        "（一）建立健全本单位安全生产责任制", "依照本法(2021年修正)",
    ],
)
def test_strip_pinyin_keeps_non_pinyin_brackets(text: str) -> None:
    assert strip_pinyin(text) == text


def test_index_text_is_simplified_without_pinyin() -> None:
    assert index_text("全市安(ān)全生(shēng)產(chǎn)工作會議") == "全市安全生产工作会议"
    assert index_text("ＧＢ５００１６　規範") == "GB50016 规范"


BOILERPLATE = [
    "首页 > 新闻中心 > 工作动态",
    "首頁 > 新聞中心 > 工作動態",
    "当前位置：首页 > 政务公开 > 通知公告",
    "首页 | 机构概况 | 新闻中心 | 政务公开 | 办事服务",
    "首页  新闻中心  政务公开  办事服务  互动交流",
    "【字体：大 中 小】 【打印本页】 【关闭窗口】",
    "扫一扫在手机打开当前页",
    "相关热词搜索：安全生产 隐患排查",
    "分享到：微信 微博 QQ空间",
    "责任编辑：李某",
    "上一篇：市应急管理局开展节前安全检查",
    "版权所有：某某市应急管理局 地址：人民路1号",
    "Copyright © 2024 某某市应急管理局 All Rights Reserved",
    "网站标识码：1100000001 京ICP备12345678号 京公网安备11010502000001号",
    "主办单位：某某市应急管理局  技术支持：某某信息技术有限公司",
    "发布时间：2024-03-15 来源：市应急管理局 浏览次数：1024",
    "建议使用1920×1080分辨率，IE9以上浏览器",
    "- 3 -",
    "第 3 页 共 10 页",
    # The 政府信息公开 table of a notice.
    "索引号： 11330522002593710X/2024-123456 主题分类： 安全生产监管",
    "文号： 长安委办〔2024〕15号 发布日期： 2024-05-22",
]
CONTENT = [
    "会议要求，企业主要负责人是本单位安全生产第一责任人，要亲自组织隐患排查治理。",
    # Statute sentences that contain words typical of footers are still content.
    "第十七条 通信业务经营单位应当为消防通信建设和维护提供技术支持和服务，确保消防通信畅通。",
    "第六条 烟花爆竹生产、经营、运输企业和焰火晚会以及其他大型焰火燃放活动主办单位的主要负责人，"
    "对本单位的烟花爆竹安全工作负责。",
    "## 第一章 总则",
    "| 序号 | 隐患内容 | 责任单位 | 整改期限 |",
    "张三  应急局  科长  12345678",
    "否\t否\t否",
]


@pytest.mark.parametrize("line", BOILERPLATE)
def test_boilerplate_lines_are_removed(line: str) -> None:
    text = f"正文第一段，内容很重要。\n{line}\n正文第二段，也很重要。"
    assert remove_boilerplate(text) == "正文第一段，内容很重要。\n正文第二段，也很重要。"


@pytest.mark.parametrize("line", CONTENT)
def test_content_lines_are_kept(line: str) -> None:
    assert remove_boilerplate(line) == line


def test_running_header_kept_once() -> None:
    pages = []
    for i in range(1, 5):
        pages += ["某某市应急管理局文件", f"第{i}段正文，说明第{i}项工作要求，各单位要认真落实。", f"- {i} -"]
    cleaned = remove_boilerplate("\n".join(pages)).split("\n")
    assert cleaned.count("某某市应急管理局文件") == 1
    assert sum(1 for line in cleaned if line.startswith("第") and "段正文" in line) == 4
    assert not any(line.startswith("- ") for line in cleaned)


def test_repeated_table_rows_are_kept() -> None:
    text = "检查项目\t结果\n灭火器\t合格\n疏散通道\t合格\n应急照明\t合格\n合格\n合格\n合格"
    assert remove_boilerplate(text) == text


def test_repeated_statute_headings_are_not_running_headers() -> None:
    text = "\n".join(["## 第一章 总则", "### 第一节 一般规定", "第一条 甲。", "## 第二章 分则",
                      "### 第一节 一般规定", "第二条 乙。", "## 第三章 附则", "### 第一节 一般规定", "第三条 丙。"])
    assert remove_boilerplate(text) == text


MOJIBAKE_UTF8_AS_GBK = "燃气公司要立即开展管道和用户端安全隐患排查，发现问题及时整改。".encode("utf-8").decode(
    "gbk", errors="replace").replace("\ufffd", "?")
MOJIBAKE_LATIN1 = "燃气公司发生爆炸事故，造成人员伤亡。".encode("utf-8").decode("cp1252", errors="replace")


@pytest.mark.parametrize(
    "text",
    [
        "各区要聚焦燃?xì)?、危?xiǎn)化?xué)品等重点行业领域，对重大事故隐患实行挂牌督办。",
        MOJIBAKE_UTF8_AS_GBK,
        "鐕冩皵鍏徃鍙戠敓鐖嗙偢浜嬫晠",
        MOJIBAKE_LATIN1,
        "ç‡ƒæ°”å…¬å¸å‘ç”Ÿçˆ†ç‚¸äº‹æ•…",
        "本单位应当????????????建立健全安全生产责任制。",
        "生产经营单位应当\ufffd\ufffd建立健全安全生产责任制。",
    ],
)
def test_garbled_text_is_detected(text: str) -> None:
    assert is_garbled(text)
    assert garble_score(text) > 0


@pytest.mark.parametrize(
    "text",
    [
        "第三十条 生产经营单位的特种作业人员必须按照国家有关规定经专门的安全作业培训，取得相应资格，方可上岗作业。",
        "繁體中文的安全生產工作會議在市政府召開，與會人員認真學習了有關文件精神。",
        "详见 http://www.example.cn/info?id=3&page=2 的通知全文。",
        "怎么办?他说不知道吗?好的，我们再研究。",
        "对玩忽职守、徇私舞弊、渎职失职的，依法给予处分。",
        "CO浓度超过 24ppm 时应当立即撤离，并报告值班人员。",
    ],
)
def test_clean_text_is_not_garbled(text: str) -> None:
    assert not is_garbled(text)


def test_no_bundled_article_looks_garbled() -> None:
    checked = 0
    for path in sorted(bundled_corpus_dir().glob("*.md")):
        body = path.read_text(encoding="utf-8").split("<!-- INFO END -->")[-1]
        for seg in segment(body):
            assert not is_garbled(seg.text), (path.name, seg.article, seg.text[:40])
            assert garble_score(seg.text) < 0.05
            checked += 1
    assert checked > 1657


def test_a_signature_inside_the_headline_is_not_the_headline() -> None:
    page = strip_boilerplate("\n".join([
        "# 长兴县安委办关于印发燃气安全专项整治方案的通知",
        "各乡镇人民政府：",
        "现将方案印发给你们，请认真贯彻落实。",
        "长兴县安委办",
        "2024年5月20日",
    ]))
    assert page.headline is None  # the caller falls back to the page's first heading / <title>
    repeated = strip_boilerplate("关于开展燃气安全检查的通知\n【概要描述】关于开展燃气安全检查的通知\n正文。")
    assert repeated.headline == "关于开展燃气安全检查的通知"
