"""Raw entries streamed into write-only sheets, one row in memory at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from itertools import chain, islice

from openpyxl import Workbook

from factoryos.reports.model import Column, RawEntries, ValueType
from factoryos.reports.xlsx_cells import RIGHT, converter, header_label, text_cell
from factoryos.reports.xlsx_names import Names, unique_labels
from factoryos.reports.xlsx_tables import add_table, prepare_sheet

# Excel's last row is 1,048,576; one is the header.
MAX_ROWS_PER_SHEET = 1_048_575

# Widths cannot be measured on a stream: they come from the column's type.
_TYPE_WIDTH = {
    ValueType.TEXT: 22.0,
    ValueType.INT: 10.0,
    ValueType.DECIMAL: 12.0,
    ValueType.PERCENT: 10.0,
    ValueType.DURATION: 11.0,
    ValueType.DATETIME: 17.0,
}


def _width(column: Column, label: str) -> float:
    return max(_TYPE_WIDTH[column.type], len(label) + 3.0)


Progress = Callable[[int], None]
PROGRESS_EVERY = 10_000


def write_raw_sheets(wb: Workbook, raw: RawEntries, names: Names, timezone: str, tz: tzinfo,
                     rows_per_sheet: int = MAX_ROWS_PER_SHEET,
                     progress: Progress | None = None) -> int:
    """Write every entry, continuing on "… (2)" sheets past Excel's row limit; returns the count.

    `progress` is told the number of rows written every `PROGRESS_EVERY` rows and at the end.
    """
    labels = unique_labels([header_label(c, timezone) for c in raw.columns])
    rows = raw.iter_rows()
    written = 0
    part = 0
    while True:
        batch = islice(rows, rows_per_sheet)
        first = next(batch, None)
        if first is None and part > 0:
            return written
        part += 1
        ws = wb.create_sheet(names.sheet(raw.title))
        prepare_sheet(ws, [_width(c, label) for c, label in zip(raw.columns, labels)], "A2")
        ws.append([text_cell(ws, label, alignment=RIGHT if c.numeric else None)
                   for c, label in zip(raw.columns, labels)])
        if first is None:
            ws.append(["No entries in this range."])
            return written
        converters = [converter(ws, c, tz, missing=None) for c in raw.columns]
        count = 0
        for row in chain((first,), batch):
            ws.append([convert(value) for convert, value in zip(converters, row)])
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(written + count)
        add_table(ws, names.table(f"raw_{part}"), labels, count + 1)
        written += count
        if progress is not None:
            progress(written)

