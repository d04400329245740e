"""End to end: real files → ParsedDocument (cleaned, segmented, with metadata and problems)."""
from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from docx import Document as new_docx
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from knowledge.parse import KINDS, bundled_corpus_dir, guess_kind, parse_bundled, parse_document
from knowledge.readers import IngestError
from knowledge.textnorm import to_simplified

DATA = Path(__file__).parent / "data"
NEWS = DATA / "news_meeting_traditional.txt"
SPEECH = DATA / "speech_safety_meeting.txt"
NOTICE = DATA / "notice_safety_month.html"
TONE_MARKS = re.compile(r"[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]")
BOILERPLATE_MARKERS = ("首页", "首頁", "扫一扫", "相关热词", "相關熱詞", "版权所有", "版權所有", "ICP", "分享到",
                       "责任编辑", "責任編輯", "打印本页", "打印本頁", "关闭窗口", "關閉窗口", "上一篇", "下一篇",
                       "技术支持", "技術支持", "浏览次数", "瀏覽次數", "网站标识码", "網站標識碼", "当前位置",
                       "當前位置")


# ---------------------------------------------------------------- seed-like documents

def test_news_report_is_cleaned_for_the_index() -> None:
    doc = parse_document(NEWS)
    assert doc.title == "全市安全生产工作会议召开"  # the headline, readable, when no --title is given
    assert doc.kind == "news"
    assert doc.full_title == "全市安全生產工作會議召開"
    good = [s for s in doc.segments if not s.garbled]
    assert len(good) >= 3
    for seg in good:
        assert not TONE_MARKS.search(seg.index_text), seg.index_text
        assert "(ān)" not in seg.index_text and "（" + "ān" not in seg.index_text
        assert to_simplified(seg.index_text) == seg.index_text
        for marker in BOILERPLATE_MARKERS:
            assert marker not in seg.text and marker not in seg.index_text
    index = "\n".join(s.index_text for s in good)
    assert "全市安全生产工作会议在市政府召开" in index
    assert "隐患排查治理台账" in index and "燃气、危险化学品" in index
    for traditional in ("產", "會議", "隱患", "臺賬", "台賬"):
        assert traditional not in index
    # Display text stays as written (Traditional, with its annotations).
    assert any("安(ān)全生(shēng)產(chǎn)工作會議在市政府召開" in s.text for s in good)


def test_news_report_garbled_paragraph_is_reported() -> None:
    doc = parse_document(NEWS)
    garbled = [s for s in doc.segments if s.garbled]
    assert len(garbled) == 1
    assert garbled[0].text.startswith("鐕冩皵鍏")
    paragraph_problems = [p for p in doc.problems if "疑似乱码" in p]
    assert len(paragraph_problems) == 1
    problem = paragraph_problems[0]
    assert "未编入索引" in problem
    number = doc.segments.index(garbled[0]) + 1
    assert problem.startswith(f"第{number}段")
    assert garbled[0].text[:10] in problem
    # The good paragraphs on either side survive intact.
    assert any("會議要求，企業主要負責人" in s.text for s in doc.segments if not s.garbled)
    assert any(s.text.startswith("會上，市應急管理局通報") for s in doc.segments if not s.garbled)


def test_resaved_copy_has_the_same_content_hash(tmp_path: Path) -> None:
    original = parse_document(NEWS)
    copy = tmp_path / "副本.txt"
    copy.write_bytes(NEWS.read_text(encoding="utf-8").replace("\n", "\r\n").encode("gb18030"))
    resaved = parse_document(copy)
    assert resaved.content_hash == original.content_hash
    assert resaved.title == original.title  # both named by their headline, not the file name
    changed = tmp_path / "改动.txt"
    changed.write_text(NEWS.read_text(encoding="utf-8").replace("95%", "96%"), encoding="utf-8")
    assert parse_document(changed).content_hash != original.content_hash


def test_speech_is_split_by_outline_headings() -> None:
    doc = parse_document(SPEECH)
    assert doc.kind == "speech"
    assert doc.full_title == "在全市安全生产工作会议上的讲话"
    paths = [s.path for s in doc.segments]
    assert "一、清醒认识当前安全生产面临的严峻形势" in paths
    assert "二、压紧压实安全生产责任链条 / （三）落实企业主体责任" in paths
    assert paths[-1] == "三、扎实推进安全生产治本攻坚三年行动"
    for seg in doc.segments:
        assert 0 < len(seg.text) <= 450
        assert seg.text[-1] in "。！？：", seg.text[-20:]
        assert not seg.garbled and seg.article is None
    assert doc.problems == []


def test_html_notice() -> None:
    doc = parse_document(NOTICE)
    assert doc.kind == "notice"
    assert doc.full_title == "关于开展2024年“安全生产月”活动的通知"
    assert doc.issuing_body == "某某市安全生产委员会办公室"
    text = "\n".join(s.text for s in doc.segments)
    for junk in ("_hmt", "createElement", "统计代码", "font-family", "无障碍", "机构概况", *BOILERPLATE_MARKERS):
        assert junk not in text, junk
    assert "人人讲安全、个个会应急" in text
    assert {"一、活动主题", "二、主要活动", "三、工作要求"} <= {s.path for s in doc.segments}


# ---------------------------------------------------------------- bundled laws

@pytest.fixture(scope="module")
def bundled() -> dict[str, object]:
    return {doc.title: doc for doc in parse_bundled()}


def test_bundled_laws_metadata(bundled: dict) -> None:
    assert len(bundled) == 27
    assert set(bundled) == {p.stem for p in bundled_corpus_dir().glob("*.md") if p.name != "SOURCES.md"}
    law = bundled["安全生产法"]
    assert (law.kind, law.full_title, law.version, law.effective_date, law.jurisdiction) == (
        "law", "中华人民共和国安全生产法", "2021-06-10", date(2021, 6, 10), "全国")
    assert law.issuing_body == "全国人民代表大会常务委员会"
    assert law.bundled and law.problems == []
    assert bundled["危险化学品安全管理条例"].kind == "regulation"
    assert bundled["危险化学品安全管理条例"].issuing_body == "国务院"
    assert bundled["特种设备安全监督检查办法"].kind == "rule"
    assert bundled["危害生产安全刑事案件司法解释（二）"].kind == "judicial_interpretation"
    assert bundled["危害生产安全刑事案件司法解释"].issuing_body == "最高人民法院、最高人民检察院"
    beijing = bundled["北京市安全生产条例"]
    assert (beijing.kind, beijing.jurisdiction, beijing.issuing_body) == (
        "local_regulation", "北京市", "北京市人民代表大会常务委员会")
    assert bundled["山东省消防条例"].jurisdiction == "山东省"
    assert bundled["上海市消防条例"].jurisdiction == "上海市"
    # 刑法's version column is not a date: version comes from its last revision line.
    criminal = bundled["刑法"]
    assert criminal.kind == "law"
    assert criminal.version == "2023-12-29" and criminal.effective_date is None
    assert all(doc.kind in KINDS for doc in bundled.values())
    assert len({doc.content_hash for doc in bundled.values()}) == 27


def test_bundled_passages(bundled: dict) -> None:
    total = sum(1 for doc in bundled.values() for s in doc.segments if s.article)
    assert total == 1657
    law = bundled["安全生产法"]
    a43 = next(s for s in law.segments if s.article_no == 43)
    assert "第二章" in a43.path and a43.article == "第四十三条" and not a43.garbled
    assert a43.index_text.startswith("第四十三条 生产经营单位进行爆破、吊装、动火、临时用电")
    a134 = next(s for s in bundled["刑法"].segments if s.article_no == 134 and s.article_sub == 1)
    assert a134.article == "第一百三十四条之一"
    for doc in bundled.values():
        source = (bundled_corpus_dir() / f"{doc.title}.md").read_text(encoding="utf-8")
        header = [ln.strip() for ln in source.split("<!-- INFO END -->")[0].split("\n") if ln.strip()]
        for seg in doc.segments:
            assert seg.text.strip() and not seg.garbled
            for line in header[1:]:
                assert line not in seg.text, (doc.title, line)
            assert "节选说明" not in seg.text and "INFO END" not in seg.text


# ---------------------------------------------------------------- kinds, titles, bad input

@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("关于印发《安全生产治本攻坚三年行动方案》的通知", "notice"),
        ("国务院关于特大安全事故行政责任追究的规定", "regulation"),
        ("中华人民共和国安全生产法", "law"),
        ("刑法（节选）", "law"),
        ("北京市安全生产条例", "local_regulation"),
        ("危险化学品安全管理条例", "regulation"),
        ("特种设备安全监督检查办法", "rule"),
        ("关于进一步加强安全生产工作的意见", "policy"),
        ("在全市安全生产工作会议上的讲话", "speech"),
        ("市应急管理局召开安全生产工作会议", "news"),
        ("最高人民法院、最高人民检察院关于办理危害生产安全刑事案件适用法律若干问题的解释", "judicial_interpretation"),
        ("工作笔记", "other"),
    ],
)
def test_guess_kind(title: str, kind: str) -> None:
    assert guess_kind(title, None) == kind


def test_explicit_title_and_kind(tmp_path: Path) -> None:
    path = tmp_path / "upload_123.txt"
    path.write_text(SPEECH.read_text(encoding="utf-8"), encoding="utf-8")
    doc = parse_document(path, title="  王副市长讲话  ", kind="通知")
    assert doc.title == "王副市长讲话"
    assert doc.kind == "notice"
    assert doc.source_name == "upload_123.txt"


def test_invalid_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("会议要求，各单位要压实安全生产责任。", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        parse_document(path, kind="poem")
    assert err.value.code == "kind" and "law（法律）" in err.value.message


def test_all_garbled_document_is_refused(tmp_path: Path) -> None:
    good = "燃气公司要立即开展管道和用户端安全隐患排查，发现问题及时整改，确保群众用气安全。"
    mojibake = good.encode("utf-8").decode("gbk", errors="replace").replace("\ufffd", "?")
    path = tmp_path / "mojibake.txt"
    path.write_text("\n".join([mojibake] * 5), encoding="utf-8")
    with pytest.raises(IngestError) as err:
        parse_document(path)
    assert err.value.code == "encoding" and "乱码" in err.value.message


def test_boilerplate_only_page_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html><body><div>首页 &gt; 新闻中心</div><p>扫一扫在手机打开当前页</p>"
                    "<p>版权所有：某某市应急管理局 京ICP备12345678号</p></body></html>", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        parse_document(path)
    assert err.value.code == "no_text"


def test_docx_regulation(tmp_path: Path) -> None:
    doc = new_docx()
    doc.add_heading("深圳市燃气安全管理规定", level=0)
    doc.add_heading("第一章 总则", level=1)
    doc.add_paragraph("第一条 为了加强燃气安全管理，保障人民群众生命财产安全，制定本规定。")
    doc.add_paragraph("第二条 本市行政区域内燃气经营、使用及其安全管理，适用本规定。")
    doc.add_heading("第二章 附则", level=1)
    doc.add_paragraph("第三条 本规定自2024年1月1日起施行。")
    path = tmp_path / "深圳市燃气安全管理规定.docx"
    doc.save(str(path))
    parsed = parse_document(path)
    assert parsed.kind == "rule"
    assert parsed.jurisdiction == "深圳市"
    assert parsed.full_title == "深圳市燃气安全管理规定"
    assert parsed.effective_date == date(2024, 1, 1)
    assert [(s.article, s.path) for s in parsed.segments] == [
        ("第一条", "第一章 总则"), ("第二条", "第一章 总则"), ("第三条", "第二章 附则")]


def test_pdf_with_a_scanned_page(tmp_path: Path) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "办法.pdf"
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 11)
    lines = ["第一条 生产经营单位应当建立隐患排查治理制度。", "第二条 主要负责人对隐患排查治理工作全面负责。",
             "第三条 重大事故隐患应当挂牌督办。"]
    for i, line in enumerate(lines):
        c.drawString(40, 800 - 18 * i, line)
    c.showPage()
    buf = io.BytesIO()
    Image.new("RGB", (200, 100), "gray").save(buf, format="PNG")
    buf.seek(0)
    c.drawImage(ImageReader(buf), 50, 500, width=200, height=100)
    c.save()
    parsed = parse_document(path)
    assert [s.article for s in parsed.segments] == ["第一条", "第二条", "第三条"]
    assert parsed.problems == ["PDF 第2页没有文字层（可能是扫描图片），该页内容未导入"]


def test_same_content_as_docx_and_txt_has_the_same_hash(tmp_path: Path) -> None:
    lines = [ln for ln in SPEECH.read_text(encoding="utf-8").split("\n") if ln.strip()]
    doc = new_docx()
    for line in lines:
        doc.add_paragraph(line)
    path = tmp_path / "讲话.docx"
    doc.save(str(path))
    assert parse_document(path).content_hash == parse_document(SPEECH).content_hash
