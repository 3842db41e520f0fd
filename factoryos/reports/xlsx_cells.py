"""Model values as spreadsheet cells: real numbers, durations and local datetimes.

Write-only worksheets take plain values or prepared `Cell`s. Each column's style is
prepared once, because a million-row export cannot afford a style lookup per cell.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from factoryos.reports.model import Column, ValueType

DURATION_FORMAT = "[h]:mm:ss"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
INT_FORMAT = "#,##0"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TOTAL_FONT = Font(bold=True)
TOTAL_FILL = PatternFill("solid", fgColor="D6E0EC")
RIGHT = Alignment(horizontal="right")


def number_format(column: Column, decimals: int | None = None) -> str | None:
    """The column's Excel format; `decimals` overrides the column's (a trimmed column's value)."""
    vtype = column.type
    if vtype is ValueType.INT:
        return INT_FORMAT
    if vtype is ValueType.DECIMAL:
        places = column.decimals if decimals is None else decimals
        return "#,##0" + ("." + "0" * places if places else "")
    if vtype is ValueType.PERCENT:
        return "0" + ("." + "0" * column.decimals if column.decimals else "") + "%"
    if vtype is ValueType.DURATION:
        return DURATION_FORMAT
    if vtype is ValueType.DATETIME:
        return DATETIME_FORMAT
    return None


def header_label(column: Column, timezone: str) -> str:
    """Datetimes are local wall-clock values, so their header names the zone."""
    if column.type is ValueType.DATETIME:
        return f"{column.label} ({timezone})"
    return column.label


def clean_text(value: str) -> str:
    if not value.isprintable():
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def styled(ws: WriteOnlyWorksheet, value: Any, *, number_format: str | None = None,
           font: Font | None = None, fill: PatternFill | None = None,
           alignment: Alignment | None = None) -> Cell:
    cell = Cell(ws, row=1, column=1, value=value)
    if number_format:
        cell.number_format = number_format
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    if alignment:
        cell.alignment = alignment
    return cell


def text_cell(ws: WriteOnlyWorksheet, value: str, **style: Any) -> Cell:
    """A string that stays a string even when it looks like a formula or an error code."""
    cell = styled(ws, clean_text(value), **style)
    cell.data_type = "s"
    return cell


Converter = Callable[[Any], Any]


def excel_value(value: Any, tz: tzinfo) -> Any:
    """Datetimes as site wall-clock time, durations as days (Excel's time unit)."""
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None)
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, str):
        return clean_text(value)
    return value


def converter(ws: WriteOnlyWorksheet, column: Column, tz: tzinfo, *,
              missing: str | None) -> Converter:
    """A function turning one model value of `column` into what `ws.append` takes.

    `missing` is written for None (e.g. "n/a"); None leaves the cell empty.
    """
    # The writer serialises each cell before the next value is converted, so one
    # prepared cell per column can be reused for every row.
    template = styled(ws, None, number_format=number_format(column))
    na = None if missing is None else styled(ws, missing, alignment=RIGHT)

    if column.type is ValueType.TEXT:
        def text(value: Any) -> Any:
            if value is None:
                return missing
            value = clean_text(value)
            if value.startswith("=") or value in ERROR_CODES:
                return text_cell(ws, value)
            return value
        return text

    def cell(value: Any) -> Any:
        if value is None:
            return na
        template.value = excel_value(value, tz)
        return template

    if not column.trim:
        return cell
    # A trimmed column's cells each show the decimals their value has (8.4 kg, 6 pieces):
    # one prepared cell per count of decimals.
    by_places = {n: styled(ws, None, number_format=number_format(column, n)) for n in range(column.decimals + 1)}

    def trimmed(value: Any) -> Any:
        if value is None:
            return na
        prepared = by_places[column.decimals_for(value)]
        prepared.value = excel_value(value, tz)
        return prepared

    return trimmed
