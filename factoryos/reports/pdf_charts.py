"""Chart sections drawn with reportlab graphics (vector, so they print sharp)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.textlabels import NA_Label
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Paragraph

from factoryos.reports.model import BarChart, Chart, LineChart, ParetoChart, ValueType, as_float
from factoryos.reports.pdf_style import (
    ACCENT,
    BELOW_TARGET,
    GRID,
    INK,
    LINE,
    MUTED,
    WHITE,
    styles,
)
from factoryos.reports.values import capped

_HEIGHT = 185.0
_LEFT = 46.0
_RIGHT = 40.0
_BOTTOM = 64.0
_LABEL_INSIDE = 14.0  # bars at least this tall carry their label inside
_LABEL_BOX = 10.0  # a bar label's height with its gap to the bar top
_TOP = 18.0
MAX_BARS = 30  # more categories are split into several charts
MAX_PARETO_BARS = 15  # the tail is folded into "Other"
_LABEL_CHARS = 28  # slanted labels longer than this are cut (with "…"); upright ones wrap instead
_LABEL_LINES = 3
_LABEL_SIZE = 6.5
_HATCH_STEP = 3.5


def _short(name: str) -> str:
    return name if len(name) <= _LABEL_CHARS else name[: _LABEL_CHARS - 1] + "…"


def _wrapped(name: str, width: float, font: str) -> str | None:
    """`name` on up to three lines no wider than `width`, broken between words; None if it cannot be."""
    lines: list[str] = []
    for word in name.split():
        if lines and stringWidth(f"{lines[-1]} {word}", font, _LABEL_SIZE) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
        if stringWidth(lines[-1], font, _LABEL_SIZE) > width or len(lines) > _LABEL_LINES:
            return None
    return "\n".join(lines)


def _bar_label(value_type: ValueType, divisor: float, fmt: Callable[[float], str]) -> Callable[[float], str]:
    """Bar values as people read them: durations as "28 min" or "1:05 h" (never a rounded "0")."""
    if value_type is ValueType.DURATION:
        def duration(v: float) -> str:
            seconds = round(v * divisor)
            if seconds < 60:
                return f"{seconds} s"
            minutes = round(seconds / 60)
            if minutes < 60 or divisor < 3600:  # in the axis's unit when it reads in minutes
                return f"{minutes} min"
            return f"{minutes // 60}:{minutes % 60:02d} h"
        return duration
    if value_type is ValueType.DECIMAL:
        return lambda v: f"{v:,.2g}" if abs(v) < 1 else f"{v:,.1f}"
    if value_type is ValueType.INT:
        return lambda v: f"{v:,.0f}"
    return fmt


def _hatch(drawing: Drawing, x: float, y: float, w: float, h: float, color: Color) -> None:
    """45° lines clipped to the rectangle: the pattern says "below target" without colour."""
    t = -h
    while t < w:
        s0, s1 = max(0.0, -t), min(h, w - t)
        if s1 > s0:
            drawing.add(Line(x + t + s0, y + s0, x + t + s1, y + s1, strokeColor=color, strokeWidth=0.7))
        t += _HATCH_STEP


def _scale(value_type: ValueType, peak: float = 0.0) -> tuple[float, str]:
    """Axis unit divisor and unit label for a value type; durations (in seconds) read in
    hours, or in minutes when the longest is under two hours."""
    if value_type is ValueType.PERCENT:
        return 1.0, "%"
    if value_type is ValueType.DURATION:
        return (3600.0, "h") if peak >= 7200 else (60.0, "min")
    return 1.0, ""


def _tick_format(value_type: ValueType, step: float) -> Callable[[float], str]:
    """Labels with as many decimals as the tick step needs, so no two ticks read alike."""
    if value_type is ValueType.PERCENT:
        return lambda v: f"{v * 100:.0f}%"
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return lambda v: f"{v:,.{decimals}f}"


def _nice_max(peak: float) -> tuple[float, float]:
    """Axis maximum and step giving about five round ticks."""
    if peak <= 0:
        return 1.0, 0.2
    raw = peak / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step * math.ceil(peak / step - 1e-9), step


def _label_inside(value: float, vmax: float, height: float, line_at: float | None) -> bool:
    """Whether a bar's label goes inside its top: for a bar tall enough, unless a line crosses the
    bar's middle there (the target, a Pareto's cumulative share), where it goes above the bar."""
    top = value / vmax * height
    line = None if line_at is None else line_at / vmax * height
    inside_ok = top >= _LABEL_INSIDE and not (line is not None and top - _LABEL_BOX <= line <= top)
    above_ok = not (line is not None and top <= line <= top + _LABEL_BOX)
    return inside_ok or (top >= _LABEL_INSIDE and not above_ok)


def _base_chart(width: float, categories: Sequence[str], values: list[float | None],
                vmax: float, step: float, fmt: Callable[[float], str],
                label_fmt: Callable[[float], str] | None = None,
                lines_at: Sequence[float | None] = ()) -> tuple[Drawing, VerticalBarChart]:
    """`lines_at`: per bar, where a line drawn over the chart crosses its middle (value units)."""
    st = styles()
    drawing = Drawing(width, _HEIGHT)
    chart = VerticalBarChart()
    chart.x, chart.y = _LEFT, _BOTTOM
    chart.width, chart.height = width - _LEFT - _RIGHT, _HEIGHT - _BOTTOM - _TOP
    chart.data = [tuple(values)]
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    chart.barSpacing = 1
    chart.groupSpacing = max(2, chart.width / max(len(values), 1) * 0.22)
    va = chart.valueAxis
    va.valueMin, va.valueMax, va.valueStep = 0, vmax, step
    va.labelTextFormat = fmt
    va.labels.fontName, va.labels.fontSize, va.labels.fillColor = st.regular, 7, MUTED
    va.visibleGrid, va.gridStrokeColor, va.gridStrokeWidth = 1, GRID, 0.4
    va.strokeColor = GRID
    ca = chart.categoryAxis
    ca.labels.fontName, ca.labels.fontSize, ca.labels.fillColor = st.regular, _LABEL_SIZE, INK
    slot = chart.width / max(len(values), 1)
    wrapped = [_wrapped(c, slot - 4, st.regular) for c in categories]
    if all(w is not None for w in wrapped):
        # Upright and whole, on up to three lines: reason names stay readable.
        ca.categoryNames = wrapped
        ca.labels.angle, ca.labels.boxAnchor, ca.labels.dy, ca.labels.leading = 0, "n", -3, _LABEL_SIZE + 1
    else:
        ca.categoryNames = [_short(c) for c in categories]
        ca.labels.angle, ca.labels.boxAnchor, ca.labels.dx, ca.labels.dy = 50, "ne", 2, -3
    ca.strokeColor = GRID
    chart.barLabelFormat = label_fmt or fmt
    chart.barLabels.fontName, chart.barLabels.fontSize = st.regular, 6
    for i, v in enumerate(values):
        bar = chart.barLabels[(0, i)]
        line_at = lines_at[i] if i < len(lines_at) else None
        if v is not None and _label_inside(v, vmax, chart.height, line_at):
            # Inside the bar top, clear of gridlines and the target line.
            bar.boxAnchor, bar.nudge, bar.fillColor = "n", -2, WHITE
        else:
            bar.boxAnchor, bar.nudge, bar.fillColor = "s", 2, MUTED
    chart.naLabel = NA_Label()
    chart.naLabel.text = "n/a"
    chart.naLabel.fontName, chart.naLabel.fontSize = st.regular, 6
    chart.naLabel.fillColor, chart.naLabel.boxAnchor = MUTED, "s"
    drawing.add(chart)
    return drawing, chart


def _bar_drawing(chart_model: BarChart, width: float, start: int, stop: int) -> Drawing:
    st = styles()
    raw = [None if v is None else as_float(capped(v, chart_model.display_cap)) for v in chart_model.values]
    raw_target = None if chart_model.target is None else as_float(chart_model.target)
    divisor, unit = _scale(chart_model.value_type, max([v for v in raw if v is not None] + [raw_target or 0.0]))
    values = [None if v is None else v / divisor for v in raw]
    target = None if raw_target is None else raw_target / divisor
    peak = max([v for v in values if v is not None] + [target or 0.0], default=0.0)
    if chart_model.value_type is ValueType.PERCENT:
        vmax, step = max(1.0, math.ceil(peak * 10) / 10), 0.2
    else:
        vmax, step = _nice_max(peak)
    fmt = _tick_format(chart_model.value_type, step)
    part = values[start:stop]
    drawing, chart = _base_chart(width, chart_model.categories[start:stop], part, vmax, step,
                                 fmt, _bar_label(chart_model.value_type, divisor, fmt), [target] * len(part))
    below = [target is not None and v is not None and v < target for v in part]
    for i, is_below in enumerate(below):
        if is_below:
            chart.bars[(0, i)].fillColor = BELOW_TARGET
    if any(below):
        # Colour alone is lost on a black-and-white printer: below-target bars are hatched too.
        chart.draw()  # lays the bars out (sets _barPositions); drawn again when the page renders
        for i, is_below in enumerate(below):
            x, y, w, h = chart._barPositions[0][i]  # type: ignore[attr-defined]  # set by draw()
            if is_below and h > 0:
                # The label inside a tall bar's top keeps a solid strip behind it.
                clear = 11.0 if h >= _LABEL_INSIDE + 6 else 0.0
                _hatch(drawing, x, y, w, h - clear, WHITE)
    if target is not None:
        y = chart.y + chart.height * min(target / vmax, 1.0)
        drawing.add(Line(chart.x, y, chart.x + chart.width, y, strokeColor=LINE,
                         strokeWidth=0.9, strokeDashArray=[4, 2]))
        drawing.add(String(chart.x + chart.width + 3, y - 2.5, f"Target {fmt(target)}",
                           fontName=st.bold, fontSize=6.5, fillColor=LINE))
        _target_legend(drawing, chart.x + chart.width, chart.y + chart.height + 8, f"Target {fmt(target)}")
    axis_title = chart_model.value_label + (f" ({unit})" if unit and unit != "%" else "")
    drawing.add(String(4, chart.y + chart.height + 8, axis_title, fontName=st.regular,
                       fontSize=7, fillColor=MUTED))
    return drawing


def _target_legend(drawing: Drawing, right: float, top: float, target: str) -> None:
    """Solid: at or above target; hatched: below; dashed line: the target."""
    st = styles()
    items = [("At or above target", False), ("Below target", True)]
    x = right - sum(stringWidth(t, st.regular, 7) + 22 for t, _ in items) - stringWidth(target, st.regular, 7) - 22
    for text, hatched in items:
        swatch = BELOW_TARGET if hatched else ACCENT
        drawing.add(Rect(x, top - 1, 8, 8, fillColor=swatch, strokeColor=None))  # type: ignore[arg-type]
        if hatched:
            _hatch(drawing, x, top - 1, 8, 8, WHITE)
        drawing.add(String(x + 11, top, text, fontName=st.regular, fontSize=7, fillColor=INK))
        x += stringWidth(text, st.regular, 7) + 22
    drawing.add(Line(x, top + 3, x + 12, top + 3, strokeColor=LINE, strokeWidth=0.9, strokeDashArray=[4, 2]))
    drawing.add(String(x + 15, top, target, fontName=st.regular, fontSize=7, fillColor=INK))


def _pareto_series(model: ParetoChart) -> tuple[list[str], list[float]]:
    names = list(model.categories)
    values = [as_float(v) for v in model.values]
    if len(names) > MAX_PARETO_BARS:
        keep = MAX_PARETO_BARS - 1
        names = names[:keep] + [f"Other ({len(names) - keep})"]
        values = values[:keep] + [sum(values[keep:])]
    return names, values


def _pareto_drawing(model: ParetoChart, width: float) -> Drawing:
    st = styles()
    names, raw = _pareto_series(model)
    divisor, unit = _scale(model.value_type, max(raw, default=0.0))
    values = [v / divisor for v in raw]
    vmax, step = _nice_max(max(values, default=0.0))
    fmt = _tick_format(model.value_type, step)
    total = sum(values)
    shares = list(itertools.accumulate(values))
    drawing, chart = _base_chart(width, names, list(values), vmax, step, fmt,
                                 _bar_label(model.value_type, divisor, fmt),
                                 [s / total * vmax if total else None for s in shares])
    points: list[float] = []
    n = len(values)
    for i, running in enumerate(shares):
        share = running / total if total else 0.0
        x = chart.x + chart.width * (i + 0.5) / n
        y = chart.y + chart.height * share
        points += [x, y]
        drawing.add(Circle(x, y, 1.8, fillColor=LINE, strokeColor=None))
    if points:
        drawing.add(PolyLine(points, strokeColor=LINE, strokeWidth=1.2))
    right = chart.x + chart.width
    drawing.add(Line(right, chart.y, right, chart.y + chart.height, strokeColor=GRID,
                     strokeWidth=0.6))
    for tick in range(0, 101, 20):
        y = chart.y + chart.height * tick / 100
        drawing.add(Line(right, y, right + 3, y, strokeColor=MUTED, strokeWidth=0.5))
        drawing.add(String(right + 5, y - 2.5, f"{tick}%", fontName=st.regular, fontSize=7,
                           fillColor=LINE))
    top = chart.y + chart.height + 8
    drawing.add(String(4, top, f"{model.value_label}" + (f" ({unit})" if unit else ""),
                       fontName=st.regular, fontSize=7, fillColor=MUTED))
    legend_x = right - 150
    drawing.add(Rect(legend_x, top - 1, 7, 7, fillColor=ACCENT, strokeColor=None))
    drawing.add(String(legend_x + 10, top, model.value_label, fontName=st.regular,
                       fontSize=7, fillColor=INK))
    drawing.add(Line(legend_x + 70, top + 2.5, legend_x + 82, top + 2.5, strokeColor=LINE,
                     strokeWidth=1.2))
    drawing.add(String(legend_x + 86, top, "Cumulative %", fontName=st.regular, fontSize=7,
                       fillColor=INK))
    return drawing


_LINE_BOTTOM = 34.0
_LINE_RIGHT = 62.0  # room for the reference lines' labels ("UCL 10.0342")
_MAX_X_LABELS = 16
_MARK = 3.2  # half the side of a marked point's square


def _line_range(model: LineChart) -> tuple[float, float, float]:
    """Axis minimum, maximum and step around every value (a control chart never starts at zero)."""
    values = [float(v) for s in model.series for v in s.values if v is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 1.0, high + 1.0
    pad = (high - low) * 0.08
    _, step = _nice_max(high - low + 2 * pad)
    bottom = math.floor((low - pad) / step) * step
    if low >= 0 > bottom:  # ranges and counts never go below zero: neither does their axis
        bottom = 0.0
    return bottom, math.ceil((high + pad) / step) * step, step


def _polylines(points: Sequence[tuple[float, float] | None]) -> list[list[float]]:
    """Runs of consecutive known points (a missing value breaks the line)."""
    runs: list[list[float]] = [[]]
    for p in points:
        if p is None:
            runs.append([])
        else:
            runs[-1] += [p[0], p[1]]
    return [r for r in runs if len(r) >= 4]


def _mark(drawing: Drawing, x: float, y: float) -> None:
    """A marked point: a red square with a white core, told apart from the round points without colour."""
    drawing.add(Rect(x - _MARK, y - _MARK, 2 * _MARK, 2 * _MARK,
                     fillColor=LINE, strokeColor=LINE, strokeWidth=0.6))  # type: ignore[arg-type]
    drawing.add(Rect(x - 1.1, y - 1.1, 2.2, 2.2, fillColor=WHITE, strokeColor=None))  # type: ignore[arg-type]


def _line_drawing(model: LineChart, width: float) -> Drawing:
    """The data series with its points, centre (solid) and limits (dashed) as reference lines labelled at
    the right, and the marked points as squares; x is the categories' order."""
    st = styles()
    drawing = Drawing(width, _HEIGHT)
    x0, y0 = _LEFT, _LINE_BOTTOM
    w, h = width - _LEFT - _LINE_RIGHT, _HEIGHT - _LINE_BOTTOM - _TOP
    vmin, vmax, step = _line_range(model)
    decimals = model.decimals if model.value_type is ValueType.DECIMAL else 0
    n = len(model.categories)

    def x_at(i: int) -> float:
        return x0 + (w * (i + 0.5) / n)

    def y_at(v: float) -> float:
        return y0 + h * (v - vmin) / (vmax - vmin)

    tick = vmin
    while tick <= vmax + step / 2:
        y = y_at(tick)
        drawing.add(Line(x0, y, x0 + w, y, strokeColor=GRID, strokeWidth=0.4))
        drawing.add(String(x0 - 3, y - 2.5, _tick_format(model.value_type, step)(tick), fontName=st.regular,
                           fontSize=7, fillColor=MUTED, textAnchor="end"))
        tick += step
    drawing.add(Line(x0, y0, x0 + w, y0, strokeColor=GRID, strokeWidth=0.6))
    every = max(1, -(-n // _MAX_X_LABELS))
    for i in range(0, n, every):
        drawing.add(String(x_at(i), y0 - 10, _short(model.categories[i]), fontName=st.regular,
                           fontSize=_LABEL_SIZE, fillColor=INK, textAnchor="middle"))
    for s in model.series:
        if s.role == "data":
            continue
        points = [None if v is None else (x_at(i), y_at(float(v))) for i, v in enumerate(s.values)]
        for run in _polylines(points):
            line = PolyLine(run, strokeColor=MUTED if s.role == "limit" else INK, strokeWidth=0.9)
            if s.role == "limit":
                line.strokeDashArray = [4, 2]
            drawing.add(line)
        last = next((v for v in reversed(s.values) if v is not None), None)
        if last is not None:
            drawing.add(String(x0 + w + 3, y_at(float(last)) - 2.5, f"{s.name} {float(last):,.{decimals}f}",
                               fontName=st.bold if s.role == "centre" else st.regular, fontSize=6.5,
                               fillColor=INK if s.role == "centre" else MUTED))
    marked = set(model.marked)
    for s in model.series:
        if s.role != "data":
            continue
        points = [None if v is None else (x_at(i), y_at(float(v))) for i, v in enumerate(s.values)]
        for run in _polylines(points):
            drawing.add(PolyLine(run, strokeColor=ACCENT, strokeWidth=1.1))
        first = s is model.data
        for i, p in enumerate(points):
            if p is None:
                continue
            if first and i in marked:
                _mark(drawing, *p)
            else:
                drawing.add(Circle(p[0], p[1], 1.7, fillColor=ACCENT, strokeColor=None))
    _line_legend(drawing, model, x0 + w, y0 + h + 8)
    drawing.add(String(4, y0 + h + 8, model.value_label, fontName=st.regular, fontSize=7, fillColor=MUTED))
    return drawing


def _line_legend(drawing: Drawing, model: LineChart, right: float, top: float) -> None:
    st = styles()
    items: list[tuple[str, str]] = [(model.data.name, "data")]
    for role in ("centre", "limit"):
        names = [s.name for s in model.series if s.role == role]
        if names:
            items.append((" / ".join(names), role))
    if model.marked:
        items.append((f"{model.marked_label} ({len(model.marked)})", "marked"))
    x = right - sum(stringWidth(t, st.regular, 7) + 24 for t, _ in items)
    for text, role in items:
        if role == "marked":
            _mark(drawing, x + 5, top + 2.5)
        elif role == "data":
            drawing.add(Line(x, top + 2.5, x + 12, top + 2.5, strokeColor=ACCENT, strokeWidth=1.1))
            drawing.add(Circle(x + 6, top + 2.5, 1.7, fillColor=ACCENT, strokeColor=None))
        else:
            sample = Line(x, top + 2.5, x + 12, top + 2.5, strokeColor=MUTED if role == "limit" else INK,
                          strokeWidth=0.9)
            if role == "limit":
                sample.strokeDashArray = [4, 2]
            drawing.add(sample)
        drawing.add(String(x + 15, top, text, fontName=st.regular, fontSize=7, fillColor=INK))
        x += stringWidth(text, st.regular, 7) + 24


def chart_flowables(model: Chart, width: float) -> list[Flowable]:
    st = styles()
    title = Paragraph(escape(model.title), st.heading)
    if not model.categories:
        return [title, Paragraph("No data in this range.", st.note)]
    if isinstance(model, LineChart):
        return [KeepTogether([title, _line_drawing(model, width)])]
    if isinstance(model, ParetoChart):
        return [KeepTogether([title, _pareto_drawing(model, width)])]
    n = len(model.categories)
    if n <= MAX_BARS:
        return [KeepTogether([title, _bar_drawing(model, width, 0, n)])]
    flow: list[Flowable] = []
    parts = -(-n // MAX_BARS)
    size = -(-n // parts)  # even chunks: 200 bars → 7 charts of 29
    for start in range(0, n, size):
        stop = min(start + size, n)
        caption = Paragraph(f"{escape(model.title)} — {start + 1}–{stop} of {n}", st.heading)
        flow.append(KeepTogether([caption, _bar_drawing(model, width, start, stop)]))
    return flow
