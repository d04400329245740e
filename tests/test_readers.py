"""Reading real files of every supported format, and refusing bad ones with clear messages."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from docx import Document as new_docx
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from knowledge.readers import SUPPORTED_SUFFIXES, IngestError, read_document

MB = 1024 * 1024
ARTICLES = [
    "第一条 为了加强安全生产工作，防止和减少生产安全事故，保障人民群众生命和财产安全，制定本条例。",
    "第二条 生产经营单位的主要负责人是本单位安全生产第一责任人，对本单位的安全生产工作全面负责。",
    "第三条 生产经营单位应当建立健全隐患排查治理制度，及时发现并消除事故隐患。",
]
TEXT = "\n\n".join(ARTICLES) + "\n"


def read(path: Path, max_bytes: int = MB):
    return read_document(path, max_bytes=max_bytes)


def make_pdf(path: Path, lines: list[str]) -> None:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 11)
    y = 800
    for line in lines:
        c.drawString(40, y, line)
        y -= 18
    c.save()


def make_scanned_pdf(path: Path) -> None:
    image = Image.new("RGB", (400, 200), "white")
    for x in range(50, 350):  # a dark bar standing in for scanned print
        for y in range(90, 110):
            image.putpixel((x, y), (0, 0, 0))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    buf.seek(0)
    c = canvas.Canvas(str(path))
    c.drawImage(ImageReader(buf), 50, 500, width=400, height=200)
    c.showPage()
    c.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 50, 500, width=400, height=200)
    c.save()


def test_supported_suffixes() -> None:
    assert {".md", ".txt", ".html", ".htm", ".docx", ".pdf"} <= SUPPORTED_SUFFIXES


def test_utf8_text_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "条例.txt"
    path.write_text(TEXT, encoding="utf-8")
    raw = read(path)
    assert raw.format == "txt"
    assert raw.encoding == "utf-8"
    assert raw.text == TEXT
    assert raw.raw_bytes_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_markdown_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_bytes(b"\xef\xbb\xbf" + ("# 标题\r\n\r\n" + TEXT.replace("\n", "\r\n")).encode("utf-8"))
    raw = read(path)
    assert raw.format == "md"
    assert raw.text.startswith("# 标题\n")
    assert "\r" not in raw.text and "\ufeff" not in raw.text


def test_gbk_text(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes(TEXT.encode("gbk"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    raw = read(path)
    assert raw.encoding == "gb18030"
    assert raw.text == TEXT


def test_gb18030_text_with_characters_outside_gbk(tmp_path: Path) -> None:
    # 䶮 (U+4DAE) and the euro sign need GB18030's four-byte codes.
    text = TEXT + "第四条 经营单位名称中含有生僻字“䶮”的，按照登记名称填写。\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = tmp_path / "gb18030.txt"
    path.write_bytes(text.encode("gb18030"))
    raw = read(path)
    assert raw.encoding == "gb18030"
    assert raw.text == text


def test_big5_traditional_text(tmp_path: Path) -> None:
    text = "第一條 為了加強安全生產工作，防止和減少生產安全事故，制定本條例。\n第二條 生產經營單位應當遵守本條例。\n"
    path = tmp_path / "big5.txt"
    path.write_bytes(text.encode("big5"))
    raw = read(path)
    assert raw.encoding == "big5"
    assert raw.text == text


def test_undecodable_bytes_are_refused(tmp_path: Path) -> None:
    good = (TEXT * 10).encode("utf-8")
    damaged = bytes(b for i, b in enumerate(good) if i % 7)  # every 7th byte lost
    path = tmp_path / "damaged.txt"
    path.write_bytes(damaged)
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "encoding"
    assert "编码" in err.value.message and "UTF-8" in err.value.message


def test_single_damaged_byte_is_decoded_leniently(tmp_path: Path) -> None:
    data = TEXT.encode("utf-8")
    path = tmp_path / "one_bad_byte.txt"
    path.write_bytes(data[:40] + b"\xff" + data[41:])
    raw = read(path)
    assert raw.encoding == "utf-8"
    assert "\ufffd" in raw.text
    assert ARTICLES[2] in raw.text


def test_html_strips_scripts_styles_and_navigation(tmp_path: Path) -> None:
    html = """<html><head><meta charset="gbk"><title>关于加强隐患排查的通知</title>
    <style>.x{color:red}</style><script>var tracker = function(){ return 1; };</script></head>
    <body><nav><a href="/">首页</a><a href="/news">新闻中心</a></nav>
    <div class="breadcrumb">首页 &gt; 通知公告</div>
    <article><h1>关于加强隐患排查的通知</h1>
    <p>各有关单位：</p><p>为进一步加强<b>事故隐患</b>排查治理工作，现就有关事项通知如下。</p>
    <table><tr><td>序号</td><td>任务</td></tr><tr><td>1</td><td>建立隐患台账</td></tr></table>
    </article><footer>版权所有 某某市应急管理局</footer>
    <script>document.write('统计');</script></body></html>"""
    path = tmp_path / "notice.html"
    path.write_bytes(html.encode("gbk"))
    raw = read(path)
    assert raw.format == "html"
    assert raw.encoding == "gb18030"
    assert raw.title_hint == "关于加强隐患排查的通知"
    assert "# 关于加强隐患排查的通知" in raw.text
    # Inline markup does not break a sentence apart.
    assert "为进一步加强事故隐患排查治理工作，现就有关事项通知如下。" in raw.text
    assert "序号\t任务" in raw.text and "建立隐患台账" in raw.text
    for junk in ("tracker", "function", "color:red", "新闻中心", "首页", "版权所有", "统计"):
        assert junk not in raw.text


def test_html_of_only_scripts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.htm"
    path.write_text(
        "<html><head><script>window.location='/app';</script></head><body><script>"
        + "var a = 1;" * 200 + "</script><nav>首页 新闻</nav><noscript>请启用脚本</noscript></body></html>",
        encoding="utf-8",
    )
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "no_text"
    assert "脚本" in err.value.message


def test_docx_paragraphs_headings_and_tables(tmp_path: Path) -> None:
    doc = new_docx()
    doc.core_properties.title = "某某公司安全生产责任制"
    doc.add_heading("某某公司安全生产责任制", level=0)
    doc.add_heading("第一章 总则", level=1)
    for article in ARTICLES:
        doc.add_paragraph(article)
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "岗位", "职责"
    table.cell(1, 0).text, table.cell(1, 1).text = "主要负责人", "全面负责"
    path = tmp_path / "责任制.docx"
    doc.save(str(path))
    raw = read(path)
    assert raw.format == "docx"
    assert raw.title_hint == "某某公司安全生产责任制"
    lines = raw.text.split("\n")
    assert lines[0] == "# 某某公司安全生产责任制"
    assert lines[1] == "## 第一章 总则"
    assert lines[2:5] == ARTICLES
    assert lines[5:] == ["岗位\t职责", "主要负责人\t全面负责"]


def test_fake_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # an OLE (.doc) file renamed
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "unsupported"
    assert ".docx" in err.value.message


def test_pdf_with_chinese_text_layer(tmp_path: Path) -> None:
    path = tmp_path / "条例.pdf"
    make_pdf(path, ARTICLES)
    raw = read(path)
    assert raw.format == "pdf"
    assert raw.warnings == []
    for article in ARTICLES:
        assert article in raw.text


def test_pdf_wrapped_lines_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.pdf"
    make_pdf(path, ["第一条 为了加强安全生产工作，防止和减少生产安全事故，保障人民群众", "生命和财产安全，制定本条例。",
                    "第二条 本条例适用于本市行政区域内的生产经营单位。"])
    raw = read(path)
    assert "第一条 为了加强安全生产工作，防止和减少生产安全事故，保障人民群众生命和财产安全，制定本条例。" in raw.text
    assert "\n第二条 本条例适用于本市行政区域内的生产经营单位。" in raw.text


def test_scanned_pdf_without_text_layer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    make_scanned_pdf(path)
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "no_text_layer"
    assert "扫描" in err.value.message and "OCR" in err.value.message


def test_too_large_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text(TEXT * 100, encoding="utf-8")
    size = path.stat().st_size

    def forbidden(self: Path) -> bytes:  # pragma: no cover - failing here is the bug
        raise AssertionError("file content was read before the size check")

    monkeypatch.setattr(Path, "read_bytes", forbidden)
    with pytest.raises(IngestError) as err:
        read(path, max_bytes=size - 1)
    assert err.value.code == "too_large"
    assert "超过上限" in err.value.message and "拆分" in err.value.message


def test_exactly_at_limit_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "limit.txt"
    path.write_text(TEXT, encoding="utf-8")
    assert read(path, max_bytes=path.stat().st_size).text == TEXT


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "empty"
    assert "空" in err.value.message


def test_whitespace_only_file_has_no_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.md"
    path.write_text(" \n\n\t  \n——\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "no_text"


@pytest.mark.parametrize(
    ("payload", "label"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "PNG"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (bytes((i * 37 + 11) % 256 for i in range(4096)), "二进制"),
    ],
)
def test_binary_renamed_to_txt_is_refused(tmp_path: Path, payload: bytes, label: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(payload)
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "unsupported"
    assert label in err.value.message


@pytest.mark.parametrize(("name", "hint"), [("old.doc", ".docx"), ("sheet.xlsx", ".docx"), ("photo.jpg", "OCR"),
                                            ("archive.zip", "支持的格式")])
def test_unsupported_suffix(tmp_path: Path, name: str, hint: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"some bytes")
    with pytest.raises(IngestError) as err:
        read(path)
    assert err.value.code == "unsupported"
    assert hint in err.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as err:
        read(tmp_path / "nope.txt")
    assert err.value.code == "not_found"
