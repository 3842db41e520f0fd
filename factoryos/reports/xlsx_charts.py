"""Chart sections as worksheets: the chart's data as an Excel table and a native chart."""

from __future__ import annotations

import math
from datetime import tzinfo

from openpyxl import Workbook
from openpyxl.chart import BarChart as XlBarChart
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.marker import Marker
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.drawing.line import LineProperties
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from factoryos.reports.model import BarChart, Chart, Column, ParetoChart, ValueType
from factoryos.reports.model import LineChart as LineModel
from factoryos.reports.xlsx_cells import (
    converter,
    excel_value,
    number_format,
    styled,
    text_cell,
)
from factoryos.reports.xlsx_names import Names, unique_labels
from factoryos.reports.xlsx_tables import add_table, prepare_sheet

_ACCENT = "1F4E79"
_LINE = "C0392B"
_TARGET = "D9822B"
_CHART_ANCHOR = "F2"
_HEIGHT_CM = 10.0


def _axis_format(value_type: ValueType) -> str:
    if value_type is ValueType.DURATION:
        return "[h]:mm"  # seconds only clutter an axis
    return number_format(Column("v", "v", value_type, decimals=0)) or "General"


def _base(title: str, value_label: str, value_type: ValueType, n: int) -> XlBarChart:
    chart = XlBarChart()
    chart.type = "col"
    chart.title = title
    chart.y_axis.title = value_label
    chart.y_axis.number_format = _axis_format(value_type)
    chart.y_axis.scaling.min = 0
    # openpyxl leaves <c:delete> unset, which recent Excel reads as "axis hidden".
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.legend.position = "b"
    chart.gapWidth = 60
    chart.height = _HEIGHT_CM
    chart.width = min(max(18.0, 0.55 * n), 60.0)
    return chart


def _bar_series_style(chart: XlBarChart) -> None:
    series = chart.series[0]
    series.graphicalProperties = GraphicalProperties(solidFill=_ACCENT)
    series.graphicalProperties.line.solidFill = _ACCENT


def _line_style(line: LineChart, color: str, dashed: bool = False) -> None:
    series = line.series[0]
    series.graphicalProperties = GraphicalProperties(
        ln=LineProperties(solidFill=color, w=22000, prstDash="dash" if dashed else "solid"))
    series.smooth = False


_DATA = "2E75B6"
_CENTRE = "1B2430"
_LIMIT = "5B6675"


def _line_series_style(series: object, role: str) -> None:
    """Data: a line with round markers; centre: solid; limits: dashed; marked points: red squares alone."""
    if role == "marked":
        series.graphicalProperties = GraphicalProperties(ln=LineProperties(noFill=True))  # type: ignore[attr-defined]
        series.marker = Marker(symbol="square", size=8,  # type: ignore[attr-defined]
                               spPr=GraphicalProperties(solidFill=_LINE, ln=LineProperties(solidFill=_LINE)))
    else:
        color = {"data": _DATA, "centre": _CENTRE, "limit": _LIMIT}[role]
        series.graphicalProperties = GraphicalProperties(  # type: ignore[attr-defined]
            ln=LineProperties(solidFill=color, w=19050 if role == "data" else 15875,
                              prstDash="dash" if role == "limit" else "solid"))
        series.marker = (Marker(symbol="circle", size=4, spPr=GraphicalProperties(solidFill=color))  # type: ignore[attr-defined]
                         if role == "data" else Marker(symbol="none"))
    series.smooth = False  # type: ignore[attr-defined]


def write_line_sheet(wb: Workbook, chart: LineModel, names: Names) -> WriteOnlyWorksheet:
    """The series as columns of an Excel table (with a column of the marked points' values) and a native line
    chart of them: the data with markers, the centre and limits as lines, the marked points as red squares."""
    ws = wb.create_sheet(names.sheet(chart.title))
    labels = unique_labels(["Point", *(s.name for s in chart.series)]
                           + ([chart.marked_label] if chart.marked else []))
    prepare_sheet(ws, [12.0] + [14.0] * (len(labels) - 1), "A2")
    ws.append([text_cell(ws, label) for label in labels])
    n = len(chart.categories)
    if n == 0:
        ws.append(["No data in this range."])
        return ws
    fmt = "0" if chart.value_type is ValueType.INT else "0." + "0" * chart.decimals if chart.decimals else "0"
    marked = set(chart.marked)
    data = chart.data.values
    for r, category in enumerate(chart.categories):
        row = [text_cell(ws, category)]
        row += [styled(ws, None if s.values[r] is None else float(s.values[r]), number_format=fmt)  # type: ignore[arg-type]
                for s in chart.series]
        if chart.marked:
            value = data[r] if r in marked else None
            row.append(styled(ws, None if value is None else float(value), number_format=fmt))
        ws.append(row)
    last = n + 1
    add_table(ws, names.table(chart.key), labels, last)
    xl = LineChart()
    xl.title = chart.title
    xl.y_axis.title = chart.value_label
    xl.y_axis.number_format = fmt
    xl.x_axis.title = "Point"
    xl.x_axis.delete = False
    xl.y_axis.delete = False
    if xl.legend is not None:
        xl.legend.position = "b"
    xl.height = _HEIGHT_CM
    xl.width = min(max(18, round(0.45 * n)), 60)
    roles = [s.role for s in chart.series] + (["marked"] if chart.marked else [])
    xl.add_data(Reference(ws, min_col=2, max_col=len(labels), min_row=1, max_row=last), titles_from_data=True)
    xl.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    values = [float(v) for s in chart.series for v in s.values if v is not None]
    if values:  # a control chart reads around its centre, not from zero: round bounds a step outside
        step = 10 ** math.floor(math.log10(((max(values) - min(values)) or 1.0) / 5))
        xl.y_axis.scaling.min = round(math.floor(min(values) / step - 0.5) * step, 10)
        xl.y_axis.scaling.max = round(math.ceil(max(values) / step + 0.5) * step, 10)
    for series, role in zip(xl.series, roles, strict=True):
        _line_series_style(series, role)
    ws.add_chart(xl, f"{chr(ord('A') + len(labels) + 1)}2")
    return ws


def write_chart_sheet(wb: Workbook, chart: Chart, names: Names, tz: tzinfo) -> WriteOnlyWorksheet:
    if isinstance(chart, LineModel):
        return write_line_sheet(wb, chart, names)
    ws = wb.create_sheet(names.sheet(chart.title))
    n = len(chart.categories)
    value_col = Column("value", chart.value_label, chart.value_type)
    is_pareto = isinstance(chart, ParetoChart)
    has_target = isinstance(chart, BarChart) and chart.target is not None
    labels = ["Category", chart.value_label]
    if is_pareto:
        labels.append("Cumulative %")
    if has_target:
        labels.append("Target")
    labels = unique_labels(labels)
    prepare_sheet(ws, [max(12.0, min(40.0, max((len(c) for c in chart.categories), default=8)
                                     + 2))] + [16.0] * (len(labels) - 1), "A2")
    ws.append([text_cell(ws, label) for label in labels])
    if n == 0:
        ws.append(["No data in this range."])
        return ws

    first, last = 2, n + 1
    value_cell = converter(ws, value_col, tz, missing=None)
    cumulative = styled(ws, None, number_format="0.0%")
    target = styled(ws, None, number_format=number_format(value_col))
    for r, (category, value) in enumerate(zip(chart.categories, chart.values), start=first):
        row = [category, value_cell(value)]
        if is_pareto:
            cumulative.value = f'=IFERROR(SUM($B${first}:B{r})/SUM($B${first}:$B${last}),0)'
            row.append(cumulative)
        if has_target:
            assert isinstance(chart, BarChart)
            target.value = excel_value(chart.target, tz)
            row.append(target)
        ws.append(row)
    add_table(ws, names.table(chart.key), labels, last)

    xl = _base(chart.title, chart.value_label, chart.value_type, n)
    xl.add_data(Reference(ws, min_col=2, min_row=1, max_row=last), titles_from_data=True)
    categories = Reference(ws, min_col=1, min_row=first, max_row=last)
    xl.set_categories(categories)
    _bar_series_style(xl)
    if is_pareto:
        line = LineChart()
        line.add_data(Reference(ws, min_col=3, min_row=1, max_row=last), titles_from_data=True)
        line.set_categories(categories)
        line.y_axis.axId = 200
        line.y_axis.title = "Cumulative %"
        line.y_axis.number_format = "0%"
        line.y_axis.scaling.min = 0
        line.y_axis.scaling.max = 1
        line.y_axis.crosses = "max"
        line.y_axis.majorGridlines = None
        line.y_axis.delete = False
        _line_style(line, _LINE)
        xl += line
    elif has_target:
        line = LineChart()
        line.add_data(Reference(ws, min_col=3, min_row=1, max_row=last), titles_from_data=True)
        line.set_categories(categories)
        _line_style(line, _TARGET, dashed=True)
        xl += line  # shares the bar chart's axes, so the target reads on the same scale
    ws.add_chart(xl, _CHART_ANCHOR)
    return ws

