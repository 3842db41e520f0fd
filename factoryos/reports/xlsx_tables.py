"""A table section as a worksheet: Excel table, frozen header, live formulas, totals row."""

from __future__ import annotations

import re
import warnings
from datetime import tzinfo

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from factoryos.reports.model import (
    FORMULA_FIELD,
    Column,
    Row,
    TableSection,
    TotalRule,
    ValueType,
)
from factoryos.reports.values import NA, format_value
from factoryos.reports.xlsx_cells import (
    RIGHT,
    TOTAL_FILL,
    TOTAL_FONT,
    converter,
    excel_value,
    header_label,
    number_format,
    styled,
    text_cell,
)
from factoryos.reports.xlsx_names import Names, unique_labels

TABLE_STYLE = "TableStyleMedium2"
_WIDTH_SAMPLE = 500
_MIN_WIDTH, _MAX_WIDTH = 8.0, 48.0
_FILTER_BUTTON = 3  # header width taken by the auto-filter arrow


def expand_formula(template: str, letters: dict[str, str], row: int, first: int, last: int,
                   total_row: int | None) -> str:
    """The Excel formula of one cell, guarded so a zero divisor reads "n/a"."""

    def ref(match: re.Match[str]) -> str:
        letter = letters[match[1]]
        if match[2] == "total":
            if total_row is not None:
                return f"${letter}${total_row}"
            return f"SUM(${letter}${first}:${letter}${last})"
        if match[2] == "cumsum":
            return f"SUM(${letter}${first}:{letter}{min(row, last)})"
        return f"{letter}{row}"

    return f'=IFERROR({FORMULA_FIELD.sub(ref, template)},"{NA}")'


def column_widths(columns: tuple[Column, ...], labels: list[str], rows: list[Row], tz: tzinfo
                  ) -> list[float]:
    """Widths in characters from the labels and the given (sample of) rows."""
    widths = []
    for i, (col, label) in enumerate(zip(columns, labels)):
        longest = max((len(format_value(r[i], col.type, tz=tz, decimals=col.decimals_for(r[i])))
                       for r in rows), default=0)
        if col.type is ValueType.DURATION:
            longest += 2  # Excel's [h]:mm:ss pads hours
        width = max(len(label) + _FILTER_BUTTON, longest + 2)
        widths.append(min(max(width, _MIN_WIDTH), _MAX_WIDTH))
    return widths


def prepare_sheet(ws: WriteOnlyWorksheet, widths: list[float], freeze: str | None) -> None:
    """Everything a write-only sheet must know before its first row."""
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = freeze
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def add_table(ws: WriteOnlyWorksheet, name: str, labels: list[str], last_row: int,
              header_row: int = 1) -> None:
    ref = f"A{header_row}:{get_column_letter(len(labels))}{last_row}"
    table = Table(displayName=name, ref=ref, autoFilter=AutoFilter(ref=ref))
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    # Write-only sheets cannot read their header cells back: name the columns here (and
    # so also give the filter buttons, which openpyxl adds only when it names them).
    table.tableColumns = [TableColumn(id=i, name=label) for i, label in enumerate(labels, 1)]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "In write-only mode you must add table columns")
        ws.add_table(table)


def write_table_sheet(wb: Workbook, section: TableSection, names: Names, timezone: str,
                      tz: tzinfo) -> WriteOnlyWorksheet:
    ws = wb.create_sheet(names.sheet(section.title))
    cols = section.columns
    labels = unique_labels([header_label(c, timezone) for c in cols])
    letters = {c.key: get_column_letter(i) for i, c in enumerate(cols, start=1)}
    rows = list(section.rows)
    first, last = 2, len(rows) + 1
    total_row = last + 1 if section.totals is not None and rows else None

    sample = rows[:_WIDTH_SAMPLE] + ([section.totals] if section.totals is not None else [])
    freeze = "B2" if cols[0].type is ValueType.TEXT and len(cols) > 4 else "A2"
    prepare_sheet(ws, column_widths(cols, labels, sample, tz), freeze)
    ws.append([text_cell(ws, label, alignment=RIGHT if c.numeric else None)
               for c, label in zip(cols, labels)])
    if not rows:
        ws.append(["No data in this range."])
        return ws

    converters = [converter(ws, c, tz, missing=NA) for c in cols]
    formula_cells = {c.key: styled(ws, None, number_format=number_format(c))
                     for c in cols if c.formula}
    for r, row in enumerate(rows, start=first):
        out = []
        for col, convert, value in zip(cols, converters, row):
            if col.formula:
                cell = formula_cells[col.key]
                cell.value = expand_formula(col.formula, letters, r, first, last, total_row)
                out.append(cell)
            else:
                out.append(convert(value))
        ws.append(out)

    if section.totals is not None:
        ws.append(_totals(ws, section, letters, first, last, total_row or last + 1, tz))
    add_table(ws, names.table(section.key), labels, last)
    return ws


def _totals(ws: WriteOnlyWorksheet, section: TableSection, letters: dict[str, str],
            first: int, last: int, total_row: int, tz: tzinfo) -> list[Cell]:
    assert section.totals is not None
    out = []
    for i, (col, value) in enumerate(zip(section.columns, section.totals)):
        letter = letters[col.key]
        fmt = number_format(col, max((col.decimals_for(r[i]) for r in (*section.rows, section.totals)), default=None)
                            if col.trim else None)
        if i == 0 and value is None:
            content: object = "Total"
        elif col.total is TotalRule.SUM and all(r[i] is None for r in section.rows):
            # Excel sums "n/a" cells to 0 (a shift without a plan would show a target of 0):
            # nothing to add up is "n/a", as the PDF says.
            out.append(text_cell(ws, NA, font=TOTAL_FONT, fill=TOTAL_FILL, alignment=RIGHT))
            continue
        elif col.total is TotalRule.SUM:
            content = f"=SUM({letter}{first}:{letter}{last})"
        elif col.total is TotalRule.FORMULA and col.formula:
            content = expand_formula(col.formula, letters, total_row, first, last, total_row)
        elif col.total is TotalRule.VALUE and isinstance(value, str):
            out.append(text_cell(ws, value, font=TOTAL_FONT, fill=TOTAL_FILL))
            continue
        elif col.total is TotalRule.VALUE and value is not None:
            content = excel_value(value, tz)
        else:
            content = None
        out.append(styled(ws, content, number_format=fmt, font=TOTAL_FONT, fill=TOTAL_FILL))
    return out
