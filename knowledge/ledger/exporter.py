"""The printable ledger (XLSX) a 安委办 hands out: title, headers, widths, wrapping, borders,
frozen header rows, landscape A4 fitted to the page width, header rows repeated on every page."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from knowledge.ledger import queries
from knowledge.ledger.models import Hazard, Official, Status, Unit
from knowledge.spreadsheets import save_workbook

# (heading, key, width in characters)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("序号", "seq", 6),
    ("隐患编号", "number", 15),
    ("所在单位", "unit", 16),
    ("隐患描述", "description", 36),
    ("隐患等级", "level", 8),
    ("整改责任单位", "responsible_unit", 16),
    ("责任人", "responsible_official", 9),
    ("整改措施", "measures", 30),
    ("发现日期", "found_on", 11),
    ("整改时限", "deadline", 11),
    ("督办单位", "supervising_unit", 14),
    ("挂牌督办", "listed", 8),
    ("整改状态", "status", 9),
    ("销号日期", "closed_on", 11),
)


def ledger_rows(session: Session, flt: queries.HazardFilter, today: date) -> list[dict[str, Any]]:
    located, resp, sup = aliased(Unit), aliased(Unit), aliased(Unit)
    stmt = (
        select(Hazard.number, located.name, Hazard.description, Hazard.level, resp.name, Official.name,
               Hazard.measures, Hazard.found_on, Hazard.deadline, sup.name, Hazard.listed_supervision,
               Hazard.status, Hazard.closed_on)
        .join(located, located.id == Hazard.unit_id)
        .join(resp, resp.id == Hazard.responsible_unit_id)
        .outerjoin(sup, sup.id == Hazard.supervising_unit_id)
        .outerjoin(Official, Official.id == Hazard.responsible_official_id)
        .order_by(Hazard.deadline, Hazard.id)
    )
    unlimited = queries.HazardFilter(**{**flt.__dict__, "limit": None})
    stmt = queries.apply_filter(session, stmt, unlimited, today)
    rows = []
    for i, r in enumerate(session.execute(stmt), 1):
        overdue = r[11] != Status.CLOSED and r[8] < today
        rows.append({
            "seq": i, "number": r[0], "unit": r[1], "description": r[2], "level": r[3],
            "responsible_unit": r[4], "responsible_official": r[5] or "", "measures": r[6] or "",
            "found_on": r[7], "deadline": r[8], "supervising_unit": r[9] or "",
            "listed": "是" if r[10] else "否", "status": f"{r[11]}（逾期）" if overdue else r[11],
            "closed_on": r[12], "overdue": overdue,
        })
    return rows


def write_ledger(path: Path, rows: list[dict[str, Any]], title: str, subtitle: str) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "隐患整改台账"
    ncols = len(COLUMNS)
    last = get_column_letter(ncols)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    center = Alignment(wrap_text=True, vertical="center", horizontal="center")

    ws.merge_cells(f"A1:{last}1")
    ws["A1"] = title
    ws["A1"].font = Font(name="宋体", size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.merge_cells(f"A2:{last}2")
    ws["A2"] = subtitle
    ws["A2"].alignment = Alignment(horizontal="right", vertical="center")
    header_fill = PatternFill("solid", fgColor="D9D9D9")
    for col, (heading, _key, width) in enumerate(COLUMNS, 1):
        cell = ws.cell(row=3, column=col, value=heading)
        cell.font = Font(bold=True)
        cell.alignment, cell.border, cell.fill = center, border, header_fill
        ws.column_dimensions[get_column_letter(col)].width = width
    overdue_font = Font(color="C00000")
    for r, row in enumerate(rows, 4):
        for col, (_heading, key, _width) in enumerate(COLUMNS, 1):
            value = row.get(key)
            cell = ws.cell(row=r, column=col, value=value)
            cell.border = border
            cell.alignment = wrap if key in ("description", "measures", "unit", "responsible_unit") else center
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            if row.get("overdue") and key in ("deadline", "status"):
                cell.font = overdue_font
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    if rows:
        ws.auto_filter.ref = f"A3:{last}{len(rows) + 3}"
    return save_workbook(wb, path)
