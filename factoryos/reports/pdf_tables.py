"""Table sections as platypus flowables: repeated header row, zebra rows, totals row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, LongTable, Paragraph, TableStyle

from factoryos.reports.model import Column, TableSection, TotalRule, ValueType
from factoryos.reports.pdf_style import (
    ACCENT,
    BODY_SIZE,
    CELL_PAD_X,
    CELL_PAD_Y,
    GRID,
    HEADER_SIZE,
    INK,
    MUTED,
    TOTAL_BG,
    WHITE,
    ZEBRA,
    styles,
)
from factoryos.reports.values import NA, format_value

# Widths are measured on this many rows: enough to see every kind of value, cheap on
# tables of thousands of rows.
_WIDTH_SAMPLE = 400
_MIN_TEXT_WIDTH = 48.0
_MAX_TEXT_WIDTH = 170.0
_ELLIPSIS = "…"
_HEADING_ROOM = 90.0


def _cells(section: TableSection, tz: tzinfo) -> tuple[list[list[str]], list[str] | None]:
    cols = section.columns
    body = [
        [format_value(v, c.type, tz=tz, decimals=c.decimals_for(v), cap=c.display_cap)
         for c, v in zip(cols, row)]
        for row in section.rows
    ]
    totals = None
    if section.totals is not None:
        totals = [
            "" if v is None and (not c.numeric or c.total is TotalRule.NONE)
            else format_value(v, c.type, tz=tz, decimals=c.decimals_for(v), cap=c.display_cap)
            for c, v in zip(cols, section.totals)
        ]
        totals[0] = totals[0] or "Total"
    return body, totals


def natural_widths(columns: Sequence[Column], body: list[list[str]],
                   totals: list[str] | None) -> list[float]:
    st = styles()
    widths = []
    sample = body[:_WIDTH_SAMPLE] + ([totals] if totals else [])
    for i, col in enumerate(columns):
        header = max(stringWidth(w, st.bold, HEADER_SIZE) for w in col.label.split())
        header = max(header, stringWidth(col.label, st.bold, HEADER_SIZE) * 0.6)
        cells = max((stringWidth(r[i], st.bold, BODY_SIZE) for r in sample), default=0.0)
        width = max(header, cells) + 2 * CELL_PAD_X + 1
        if col.type is ValueType.TEXT:
            width = min(max(width, _MIN_TEXT_WIDTH), _MAX_TEXT_WIDTH)
        widths.append(width)
    return widths


def section_natural_width(section: TableSection, tz: tzinfo) -> float:
    body, totals = _cells(section, tz)
    return sum(natural_widths(section.columns, body, totals))


def _fit(columns: Sequence[Column], widths: list[float], available: float) -> list[float]:
    """Stretch to the frame, or shrink text columns (their cells get an ellipsis)."""
    total = sum(widths)
    if total <= available:
        extra = available - total
        return [w + extra * w / total for w in widths]
    text = [i for i, c in enumerate(columns) if c.type is ValueType.TEXT]
    excess = total - available
    shrinkable = sum(widths[i] - _MIN_TEXT_WIDTH for i in text)
    fitted = list(widths)
    if shrinkable > 0:
        ratio = min(1.0, excess / shrinkable)
        for i in text:
            fitted[i] -= (fitted[i] - _MIN_TEXT_WIDTH) * ratio
    total = sum(fitted)
    if total > available:
        fitted = [w * available / total for w in fitted]
    return fitted


def _clip(text: str, width: float, font: str) -> str:
    room = width - 2 * CELL_PAD_X
    if stringWidth(text, font, BODY_SIZE) <= room:
        return text
    while text and stringWidth(text + _ELLIPSIS, font, BODY_SIZE) > room:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def table_flowables(section: TableSection, tz: tzinfo, available: float) -> list[Flowable]:
    st = styles()
    # A heading needs room for a few rows below it; keepWithNext would push a long table
    # (and so its heading) whole onto the next page.
    flow: list[Flowable] = [
        CondPageBreak(_HEADING_ROOM),
        Paragraph(escape(section.title), st.table_heading),
    ]
    if section.note:
        flow.append(Paragraph(escape(section.note), st.note))
    if not section.rows:
        flow.append(Paragraph("No data in this range.", st.note))
        return flow

    cols = section.columns
    body, totals = _cells(section, tz)
    widths = _fit(cols, natural_widths(cols, body, totals), available)
    text_cols = [i for i, c in enumerate(cols) if c.type is ValueType.TEXT]
    for row in body + ([totals] if totals else []):
        for i in text_cols:
            row[i] = _clip(row[i], widths[i], st.regular)

    header = [
        Paragraph(escape(c.label), st.col_right if c.numeric else st.col_left) for c in cols
    ]
    data: list[Sequence[object]] = [header, *body]
    last_body = len(body)
    commands: list[tuple] = [
        ("FONT", (0, 1), (-1, -1), st.regular, BODY_SIZE),
        ("TEXTCOLOR", (0, 1), (-1, -1), INK),
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD_X),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD_X),
        ("TOPPADDING", (0, 0), (-1, -1), CELL_PAD_Y),
        ("BOTTOMPADDING", (0, 0), (-1, -1), CELL_PAD_Y),
        ("ROWBACKGROUNDS", (0, 1), (-1, last_body), [WHITE, ZEBRA]),
        ("LINEBELOW", (0, last_body), (-1, last_body), 0.6, GRID),
    ]
    for i, col in enumerate(cols):
        if col.numeric:
            commands.append(("ALIGN", (i, 1), (i, -1), "RIGHT"))
    for r, row in enumerate(body, start=1):
        for i, text in enumerate(row):
            if text == NA:
                commands.append(("TEXTCOLOR", (i, r), (i, r), MUTED))
    if totals:
        data.append(totals)
        commands += [
            ("FONT", (0, -1), (-1, -1), st.bold, BODY_SIZE),
            ("BACKGROUND", (0, -1), (-1, -1), TOTAL_BG),
            ("LINEABOVE", (0, -1), (-1, -1), 0.9, ACCENT),
        ]
    table = LongTable(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    flow.append(table)
    return flow
