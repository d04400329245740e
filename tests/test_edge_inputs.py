"""Edge inputs from issue 11: control characters, impossible article numbers, laws that are not
loaded, YAML alias bombs, formula injection in exports, broken .docx/.pdf files and directories."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from ledger_support import Org, build_org
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from knowledge.duties.loader import RulesFileError, read_yaml
from knowledge.duties.template import write_template as write_rules_template
from knowledge.ledger.exporter import write_ledger
from knowledge.ledger.importer import write_template as write_ledger_template
from knowledge.models import Passage
from knowledge.readers import IngestError, read_document
from knowledge.spreadsheets import save_workbook
from knowledge.textnorm import strip_control_chars

WT = Path(__file__).resolve().parents[1]
LAW = "# 某市危险作业安全条例\n\n第一条 为了加强危险作业安全管理，制定本条例。\n\n" \
      "第二条 动火作业应当办理审批手续，并安排专人监护。\n\n第三条 有限空间作业应当先通风、再检测、后作业。\n"


# ---------------------------------------------------------------- control characters

def test_control_characters_are_removed_keeping_lines_and_tabs():
    assert strip_control_chars("第一条\x00 动火\x07作业\t审批\r\n第二条\x0c第三条\x7f\x85") == \
        "第一条 动火作业\t审批\r\n第二条\n第三条"


def nul_after_8k(tmp_path: Path) -> Path:
    filler = "第一条 生产经营单位应当建立安全生产责任制，明确各岗位的责任人员、责任范围和考核标准。\n\n" * 120
    body = filler + "第二条 动火作业\x00应当\x00办理审批\x01手续。\n"
    assert len(filler.encode("utf-8")) > 8192  # past the binary sniff of the first 8 KB
    path = tmp_path / "nul.txt"
    path.write_bytes(body.encode("utf-8"))
    return path


@pytest.mark.slow
def test_nul_bytes_after_8k_are_stripped_the_same_on_both_databases(settings, sessions, embedder, tmp_path: Path):
    from index.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(settings, sessions, embedder=embedder)
    kb.open()
    report = kb.ingest(nul_after_8k(tmp_path), "test", title="某规定")
    assert report.outcome == "new"
    assert any("控制字符" in p for p in report.problems)
    with sessions() as session:
        texts = list(session.scalars(select(Passage.text)))
    assert texts and not any("\x00" in t or "\x01" in t for t in texts)
    assert any("动火作业应当办理审批手续" in t for t in texts)


# ---------------------------------------------------------------- article numbers and unknown laws

@pytest.fixture
def kb(settings, sessions, embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    from index.knowledge_base import KnowledgeBase

    base = KnowledgeBase(settings, sessions, embedder=embedder)
    base.open()
    law = tmp_path / "law.md"
    law.write_text(LAW, encoding="utf-8")
    base.ingest(law, "test", title="某市危险作业安全条例", kind="local_regulation")
    return base


@pytest.mark.slow
def test_impossible_article_numbers_are_no_such_article_on_both_databases(kb):
    huge = kb.answer("某市危险作业安全条例第99999999999999999999条")
    assert huge.answer.startswith("《某市危险作业安全条例》中没有第99999999999999999999条")
    assert huge.citations == [] and huge.kind == "reference"
    zero = kb.answer("某市危险作业安全条例第零条")
    assert zero.answer.startswith("《某市危险作业安全条例》中没有第零条") and zero.citations == []
    assert kb.answer("某市危险作业安全条例第0条").citations == []
    assert kb.article("某市危险作业安全条例", 10**20) is None  # no integer overflow in the database
    assert kb.answer("某市危险作业安全条例第二条").citations[0].article == "第二条"


@pytest.mark.slow
def test_a_law_that_is_not_loaded_is_named_first_then_related_material_labelled(kb):
    answer = kb.answer("《火星矿山安全条例》第五条 动火作业怎么审批？")
    assert answer.answer.startswith("知识库中没有《火星矿山安全条例》")
    assert "以下是其他已载入法规中的相关内容，仅供参考" in answer.answer
    assert answer.missing_documents == ["火星矿山安全条例"]
    assert answer.to_json()["missing_documents"] == ["火星矿山安全条例"]
    loaded = kb.answer("《某市危险作业安全条例》对动火作业有什么要求？")
    assert loaded.missing_documents == [] and not loaded.answer.startswith("知识库中没有")


# ---------------------------------------------------------------- YAML alias bombs

BOMB = "\n".join(
    [f'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    + ["rules: [*a9]"]
)


def test_yaml_alias_bomb_is_refused_at_once():
    started = time.monotonic()
    with pytest.raises(RulesFileError) as err:
        read_yaml(BOMB)
    assert time.monotonic() - started < 2
    assert "展开后超过" in err.value.to_text()


def test_yaml_with_too_many_aliases_is_refused():
    text = "x: &x 动火作业\nrules:\n" + "".join("  - *x\n" for _ in range(1500))
    with pytest.raises(RulesFileError) as err:
        read_yaml(text)
    assert "别名" in err.value.to_text()


def test_yaml_with_a_few_aliases_still_loads():
    text = ("basis: &basis ['《安全生产法》第四十三条']\nrules:\n"
            "  - {id: r1, topic: 动火作业, layer: 企业, party: 生产经营单位, duty: 安排专人现场管理, basis: *basis}\n")
    rows = read_yaml(text)
    assert len(rows) == 1 and not rows[0].problems


# ---------------------------------------------------------------- formula injection in exports

INJECTIONS = ["=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1:A2)", "=HYPERLINK(\"http://x\",\"点我\")"]


def no_formulas(path: Path) -> None:
    with zipfile.ZipFile(path) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in package.read(name) and b"<f " not in package.read(name), name
    for ws in load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)


def test_ledger_imported_from_csv_exports_formula_text_as_text(sessions, settings, tmp_path: Path):
    org: Org = build_org(sessions, settings)
    path = tmp_path / "台账.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["序号", "隐患描述", "所在单位", "隐患等级", "整改措施", "整改时限", "督办单位"])
        for n, payload in enumerate(INJECTIONS, 1):
            writer.writerow([n, payload, "东街道", "一般", payload, "2026-03-20", "甲区/应急管理局"])
    report = org.svc.import_hazards(org.admin, path)
    assert report.ok and len(report.created) == len(INJECTIONS), report.problems
    rows = org.svc.export_rows(org.admin, org.svc.filter_for(unit="甲区"))
    out = write_ledger(tmp_path / "out.xlsx", rows, "甲区隐患整改台账", "截至今日")
    no_formulas(out)
    ws = load_workbook(out).active
    descriptions = {ws.cell(row=r, column=4).value for r in range(4, 4 + len(INJECTIONS))}
    assert descriptions == set(INJECTIONS)  # kept verbatim, as text
    assert all(ws.cell(row=r, column=4).quotePrefix for r in range(4, 4 + len(INJECTIONS)))


def test_every_spreadsheet_writer_saves_formula_free(tmp_path: Path):
    no_formulas(write_rules_template(tmp_path / "rules.xlsx"))
    no_formulas(write_ledger_template(tmp_path / "ledger.xlsx"))
    wb = Workbook()
    for payload in INJECTIONS:
        wb.active.append([payload, 1, "普通文字"])
    path = save_workbook(wb, tmp_path / "stats.xlsx")
    no_formulas(path)
    assert load_workbook(path).active["B1"].value == 1  # numbers stay numbers


# ---------------------------------------------------------------- broken files and directories

def broken_docx(tmp_path: Path) -> Path:
    from docx import Document

    buffer = io.BytesIO()
    doc = Document()
    doc.add_paragraph("第一条 测试。")
    doc.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item, source.read(item.filename))
    path = tmp_path / "坏文件.docx"
    path.write_bytes(out.getvalue())
    return path


def truncated_pdf(tmp_path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for n in range(40):
        pdf.cell(0, 10, f"Article {n}: the employer shall provide safety training.", new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    path = tmp_path / "截断.pdf"
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def test_corrupt_docx_is_described_in_words(tmp_path: Path):
    with pytest.raises(IngestError) as err:
        read_document(broken_docx(tmp_path), max_bytes=10**7)
    assert "文件不完整" in err.value.message and "Error" not in err.value.message


def test_directory_is_refused_as_a_directory(tmp_path: Path):
    folder = tmp_path / "资料"
    folder.mkdir()
    with pytest.raises(IngestError) as err:
        read_document(folder, max_bytes=10**7)
    assert err.value.code == "directory" and "是一个文件夹，不是文件" in err.value.message


def test_truncated_pdf_says_so_without_the_library_warning(tmp_path: Path):
    path = truncated_pdf(tmp_path)
    code = ("import sys; from pathlib import Path; from knowledge.readers import IngestError, read_document\n"
            "try:\n    read_document(Path(sys.argv[1]), max_bytes=10**7)\n"
            "except IngestError as exc:\n    print(exc.message)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(WT)})
    assert "文件不完整" in proc.stdout
    assert proc.stderr == ""  # pypdf's "EOF marker not found" is not printed on the terminal
