"""Reading ledgers that officials keep in Excel/CSV: locating the header, mapping the usual Chinese
column headings to fields, undoing merged cells and skipping blank rows.

Validation against the database (units, officials, deadlines, duplicates) happens in the service,
so that the whole file is checked before anything is written.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any


from knowledge.ledger.errors import LedgerError
from knowledge.spreadsheets import save_workbook
from knowledge.textnorm import fullwidth_to_halfwidth, strip_control_chars

# field -> accepted headings (after removing spaces, line breaks, "*" and bracketed notes).
HAZARD_HEADINGS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "number": ("隐患编号", "编号", "台账编号"),
    "description": ("隐患描述", "问题描述", "隐患内容", "存在问题", "隐患问题", "问题隐患", "隐患名称",
                    "主要问题", "隐患情况", "隐患具体情况"),
    "location": ("隐患位置", "具体位置", "隐患部位", "部位", "地点"),
    "unit": ("所在单位", "被检查单位", "企业名称", "隐患单位", "检查对象", "单位名称"),
    "category": ("隐患类别", "隐患类型", "行业领域", "行业类别", "类别"),
    "level": ("隐患等级", "隐患级别", "等级", "级别"),
    "source": ("发现方式", "隐患来源", "来源", "检查方式"),
    "found_on": ("发现日期", "检查日期", "发现时间", "排查日期", "检查时间"),
    "responsible_unit": ("整改责任单位", "责任单位"),
    "responsible_official": ("整改责任人", "责任人"),
    "measures": ("整改措施", "整改要求", "整改方案"),
    "funds": ("整改资金", "资金"),
    "deadline": ("整改时限", "整改期限", "完成时限", "整改截止日期", "限期"),
    "supervising_unit": ("督办单位", "督办部门", "监管单位"),
    "listed": ("挂牌督办", "是否挂牌督办"),
    "status": ("整改状态", "整改情况", "完成情况", "状态"),
    "closed_on": ("销号日期", "整改完成日期", "完成日期", "销号时间"),
    "note": ("备注",),
}
UNIT_HEADINGS: dict[str, tuple[str, ...]] = {
    "name": ("单位名称", "名称", "单位"),
    "parent": ("上级单位", "上级", "所属单位"),
    "kind": ("单位类型", "类型", "层级"),
    "code": ("单位编码", "编码", "代码"),
}
OFFICIAL_HEADINGS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "人员"),
    "unit": ("所在单位", "单位"),
    "role": ("角色", "权限"),
    "phone": ("电话", "手机", "联系电话"),
    "supervisor": ("上级", "分管领导"),
}

_NOTE = re.compile(r"[（(][^）)]*[）)]")


def clean_heading(value: Any) -> str:
    text = fullwidth_to_halfwidth(str(value or ""))
    text = _NOTE.sub("", text)
    return re.sub(r"[\s*＊:：]", "", text)


def match_heading(heading: str, headings: dict[str, tuple[str, ...]]) -> str | None:
    if not heading:
        return None
    for name, aliases in headings.items():
        if heading in aliases:
            return name
    # Longer aliases first, so "整改责任单位" is not taken for "单位名称".
    pairs = sorted(((a, n) for n, aliases in headings.items() for a in aliases), key=lambda p: -len(p[0]))
    for alias, name in pairs:
        if len(alias) >= 2 and alias in heading:
            return name
    return None


@dataclass
class Table:
    columns: dict[int, str]                      # column index -> field
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, values)
    unknown_headings: list[str] = field(default_factory=list)


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook  # only when a workbook is read: it costs a third of a second

    try:
        wb = load_workbook(path, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook gets the same polite answer
        raise LedgerError(f"无法打开表格“{path.name}”，请确认是有效的 .xlsx 文件。") from None
    ws = wb.worksheets[0]
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    # Merged cells keep their value only in the top-left cell; copy it into the whole range,
    # which is what a reader of the printed ledger sees (e.g. one unit name spanning many rows).
    for rng in ws.merged_cells.ranges:
        value = grid[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row - 1, rng.max_row):
            for c in range(rng.min_col - 1, rng.max_col):
                grid[r][c] = value
    wb.close()
    return grid


def _read_csv(path: Path) -> list[list[Any]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise LedgerError(
            f"文件“{path.name}”的编码无法识别（既不是UTF-8也不是GBK），请在Excel中另存为“CSV UTF-8”或 .xlsx 后重试。"
        )
    if "\x00" in text:
        raise LedgerError(f"文件“{path.name}”不是文本格式的CSV，请另存为 .csv 或 .xlsx 后重试。")
    return [list(r) for r in csv.reader(io.StringIO(text))]


def read_grid(path: Path) -> list[list[Any]]:
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"找不到文件“{path}”。")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    if suffix == ".xls":
        raise LedgerError("暂不支持旧版 .xls 文件，请在Excel中另存为 .xlsx 后重试。")
    raise LedgerError(f"不支持的文件类型“{suffix}”，请使用 .xlsx 或 .csv。")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_table(path: Path, headings: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> Table:
    grid = read_grid(Path(path))
    def mapped(row: list[Any]) -> dict[int, str]:
        found = {c: match_heading(clean_heading(v), headings) for c, v in enumerate(row)}
        return {c: f for c, f in found.items() if f}

    header_at, columns = None, {}
    for i, row in enumerate(grid[:15]):
        if len(set(mapped(row).values())) >= 2:
            header_at, columns = i, mapped(row)
            break
    if header_at is None:
        wanted = "、".join(headings[f][0] for f in required)
        raise LedgerError(f"在“{Path(path).name}”的前15行中没有找到表头，请至少包含：{wanted}。")
    # A two-row header ("整改责任" over "单位 | 责任人"): the second row refines the first.
    start = header_at + 1
    if start < len(grid):
        sub = mapped(grid[start])
        if len(set(sub.values())) >= 2:
            columns.update(sub)
            start += 1
    seen: dict[str, int] = {}
    for c, f in sorted(columns.items()):
        if f in seen:
            raise LedgerError(f"表头中“{headings[f][0]}”出现了两次（第{seen[f] + 1}列和第{c + 1}列），请只保留一列。")
        seen[f] = c
    missing = [headings[f][0] for f in required if f not in seen]
    if missing:
        raise LedgerError(f"表格缺少必需的列：{'、'.join(missing)}。可用 safetybot hazards template 生成模板。")
    header_row = grid[header_at]
    table = Table(columns=columns, unknown_headings=[
        str(v) for c, v in enumerate(header_row) if c not in columns and not _blank(v)
    ])
    for i in range(start, len(grid)):
        row = grid[i]
        values = {f: (row[c] if c < len(row) else None) for c, f in columns.items()}
        if all(_blank(v) for f, v in values.items() if f != "seq"):
            continue  # blank (or numbered but empty) rows are common padding at the end of ledgers
        values = {f: (strip_control_chars(v).strip() if isinstance(v, str) else v) for f, v in values.items()}
        table.rows.append((i + 1, {f: (None if _blank(v) else v) for f, v in values.items()}))
    return table


def cell_date(value: Any) -> date | str | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None if value is None else str(value)


TEMPLATE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("序号", "可选，仅用于核对", "1"),
    ("隐患编号", "可选；留空则自动编号（如 YH-2026-0001），重复导入按编号去重", ""),
    ("隐患描述", "必填：隐患的具体情况", "二楼仓库安全出口被货物堵塞"),
    ("隐患位置", "可选", "2号楼二楼仓库"),
    ("所在单位", "必填：已登记的单位名称（重名时写“上级/本级”）", "示例街道"),
    ("隐患类别", "可选，如 消防、危化、建筑施工", "消防"),
    ("隐患等级", "一般 或 重大；留空为一般", "一般"),
    ("发现方式", "检查、自查、举报、督查、上级交办；留空为检查", "检查"),
    ("发现日期", "日期，如 2026-03-02；留空为今天", "2026-03-02"),
    ("整改责任单位", "留空则同所在单位", ""),
    ("责任人", "可选：已登记的人员姓名", ""),
    ("整改措施", "可选", "立即清理通道，落实日常巡查"),
    ("整改资金", "可选，单位：元", "0"),
    ("整改时限", "必填：日期，或“N个工作日”（从发现日期起算）", "10个工作日"),
    ("督办单位", "可选：已登记的单位名称", ""),
    ("挂牌督办", "是 / 否", "否"),
    ("整改状态", "待整改、整改中、待复查、已销号；留空为待整改", "待整改"),
    ("销号日期", "已销号时填写", ""),
    ("备注", "可选", ""),
)


def write_template(path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "隐患台账"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for col, (name, _hint, example) in enumerate(TEMPLATE_COLUMNS, 1):
        cell = ws.cell(row=1, column=col, value=name)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.cell(row=2, column=col, value=example or None)
        ws.column_dimensions[cell.column_letter].width = 28 if name in ("隐患描述", "整改措施") else 14
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "说明"])
    for name, hint, _example in TEMPLATE_COLUMNS:
        notes.append([name, hint])
    notes.append([])
    notes.append(["", "只导入第一个工作表；第二行为示例，导入前请删除或替换。整张表全部校验通过才会导入，否则一条也不导入。"])
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 14, 80
    return save_workbook(wb, path)
