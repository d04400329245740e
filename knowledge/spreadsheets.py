"""Saving spreadsheets so that user data can never become a formula.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is executed by
spreadsheet programs as a formula (CSV/formula injection, e.g. ``=cmd|' /C calc'!A0``). Following
OWASP's guidance such cells are written as text: a string cell (not a formula) with Excel's
"quote prefix" set, so the program also keeps it as text when the cell is edited. Every export
(ledger, import templates, rules templates) saves through ``save_workbook``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl costs a quarter second: only commands that write sheets load it
    from openpyxl import Workbook

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(wb: Workbook) -> int:
    """Make every formula-like cell a text cell; returns how many cells were changed."""
    changed = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
                    cell.data_type = "s"
                    cell.quotePrefix = True
                    changed += 1
    return changed


def save_workbook(wb: Workbook, path: Path) -> Path:
    """Save ``wb`` to ``path`` (creating the folder) with no formula from data in it."""
    neutralise_formulas(wb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
