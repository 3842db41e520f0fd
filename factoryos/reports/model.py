"""The report document: plain typed values that every renderer (PDF, XLSX, JSON) reads.

The service layer fills it from PostgreSQL and the KPI engine; renderers never compute
KPIs themselves. Ratios are fractions (0.853 = 85.3 %), durations are `timedelta`,
instants are timezone-aware and shown in the site's timezone. `None` means "n/a".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from factoryos.reports.errors import ReportInvalid


class ReportKind(StrEnum):
    PRODUCTION_BY_MACHINE = "production_by_machine"
    PRODUCTION_BY_SHIFT = "production_by_shift"
    PRODUCTION_BY_OPERATOR = "production_by_operator"
    REJECTIONS_BY_REASON = "rejections_by_reason"
    DOWNTIME_BY_REASON = "downtime_by_reason"
    OEE_SUMMARY = "oee_summary"
    ORDER = "order"
    QUALITY = "quality"
    MAINTENANCE = "maintenance"
    TRACE = "trace"  # a lot's genealogy as it stands: no period, one instant

    @property
    def label(self) -> str:
        """The report's default title, e.g. "Production by machine"."""
        return _KIND_LABELS[self]


_KIND_LABELS = {
    ReportKind.PRODUCTION_BY_MACHINE: "Production by machine",
    ReportKind.PRODUCTION_BY_SHIFT: "Production by shift",
    ReportKind.PRODUCTION_BY_OPERATOR: "Production by operator",
    ReportKind.REJECTIONS_BY_REASON: "Rejections by reason",
    ReportKind.DOWNTIME_BY_REASON: "Downtime by reason",
    ReportKind.OEE_SUMMARY: "OEE summary",
    ReportKind.ORDER: "Order report",
    ReportKind.QUALITY: "Quality report",
    ReportKind.MAINTENANCE: "Maintenance report",
    ReportKind.TRACE: "Trace report",
}


class ValueType(StrEnum):
    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    PERCENT = "percent"
    DURATION = "duration"
    DATETIME = "datetime"


class TotalRule(StrEnum):
    """How the spreadsheet fills a column's totals row (PDF and JSON show `totals` as given)."""

    VALUE = "value"  # the model's totals value, static
    SUM = "sum"  # =SUM over the column
    FORMULA = "formula"  # the column's formula, evaluated on the totals row
    NONE = "none"


Number: TypeAlias = int | float | Decimal
Value: TypeAlias = str | Number | timedelta | datetime | None


def _fail(where: str, message: str) -> ReportInvalid:
    return ReportInvalid(f"{where}: {message}", field=where)


def _require_aware(where: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise _fail(where, "must be a timezone-aware datetime")


def check_value(where: str, vtype: ValueType, value: Any) -> None:
    """Raise `ReportInvalid` when `value` does not fit a column of type `vtype`."""
    if value is None:
        return
    ok: bool
    if vtype is ValueType.TEXT:
        ok = isinstance(value, str)
    elif vtype is ValueType.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif vtype in (ValueType.DECIMAL, ValueType.PERCENT):
        ok = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    elif vtype is ValueType.DURATION:
        ok = isinstance(value, timedelta)
    else:
        ok = isinstance(value, datetime) and value.utcoffset() is not None
    if not ok:
        expected = "an aware datetime" if vtype is ValueType.DATETIME else vtype.value
        raise _fail(where, f"expected {expected}, got {type(value).__name__} {value!r}")


@dataclass(frozen=True, slots=True)
class ReportHeader:
    company: str
    site: str
    timezone: str  # IANA name, e.g. "Europe/Warsaw"
    start: datetime
    end: datetime
    kind: ReportKind
    generated_by: str
    generated_at: datetime
    title: str | None = None  # defaults to the kind's title

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _fail("header.timezone", f"unknown IANA timezone {self.timezone!r}") from exc
        for name in ("start", "end", "generated_at"):
            _require_aware(f"header.{name}", getattr(self, name))
        if self.end <= self.start:
            raise _fail("header.end", "must be after start")
        if not isinstance(self.kind, ReportKind):
            raise _fail("header.kind", f"unknown report kind {self.kind!r}")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def display_title(self) -> str:
        return self.title or self.kind.label


@dataclass(frozen=True, slots=True)
class KpiTile:
    key: str
    label: str
    type: ValueType
    value: Value
    display_cap: float | None = None  # shown no higher than this (the value stays exact)


# Performance (and so OEE) above 100 % means a wrong ideal cycle time, not a better
# machine: people see 100 %, spreadsheets and JSON keep the exact figure.
RATIO_DISPLAY_CAP = 1.0


@dataclass(frozen=True, slots=True)
class KpiSummary:
    """The headline figures of the report range; each may be None ("n/a")."""

    oee: float | None = None
    availability: float | None = None
    performance: float | None = None
    quality: float | None = None
    good: int | None = None
    rejects: int | None = None
    downtime: timedelta | None = None
    no_data: timedelta | None = None  # time machines could not be read (not downtime)
    mtbf: timedelta | None = None
    mttr: timedelta | None = None
    target_attainment: float | None = None

    def tiles(self) -> tuple[KpiTile, ...]:
        """Core tiles always (n/a when missing); optional ones only when known."""
        core = [
            KpiTile("oee", "OEE", ValueType.PERCENT, self.oee, RATIO_DISPLAY_CAP),
            KpiTile("availability", "Availability", ValueType.PERCENT, self.availability),
            KpiTile("performance", "Performance", ValueType.PERCENT, self.performance,
                    RATIO_DISPLAY_CAP),
            KpiTile("quality", "Quality", ValueType.PERCENT, self.quality),
            KpiTile("good", "Good", ValueType.INT, self.good),
            KpiTile("rejects", "Rejects", ValueType.INT, self.rejects),
            KpiTile("downtime", "Downtime", ValueType.DURATION, self.downtime),
        ]
        extra = [
            KpiTile("no_data", "No data", ValueType.DURATION, self.no_data),
            KpiTile("mtbf", "MTBF", ValueType.DURATION, self.mtbf),
            KpiTile("mttr", "MTTR", ValueType.DURATION, self.mttr),
            KpiTile("target_attainment", "Target", ValueType.PERCENT, self.target_attainment),
        ]
        for tile in core + extra:
            check_value(f"kpis.{tile.key}", tile.type, tile.value)
        return tuple(core + [t for t in extra if t.value is not None])


@dataclass(frozen=True, slots=True)
class Column:
    """A table column.

    `formula` is an Excel expression template used by the XLSX renderer instead of the
    stored value, so supervisors can edit inputs and see results follow. Placeholders:
    `{key}` is this row's cell of column `key`, `{key.total}` the totals-row cell,
    `{key.cumsum}` the running sum from the first data row down to this row.
    """

    key: str
    label: str
    type: ValueType = ValueType.TEXT
    decimals: int = 1  # shown for DECIMAL and PERCENT
    formula: str | None = None
    total: TotalRule = TotalRule.VALUE
    display_cap: float | None = None  # PDF shows no more than this; data stays exact
    # DECIMAL only: `decimals` is the most shown and trailing zeros go, so quantities read as
    # written (6 pieces, 8.4 kg, 0.125 m), not padded to the column's scale (6.000).
    trim: bool = False

    def __post_init__(self) -> None:
        if not self.key.isidentifier():
            raise _fail(f"column {self.key!r}", "key must be an identifier")
        if not 0 <= self.decimals <= 6:
            raise _fail(f"column {self.key!r}", "decimals must be between 0 and 6")
        if self.total is TotalRule.FORMULA and not self.formula:
            raise _fail(f"column {self.key!r}", "total rule FORMULA needs a formula")
        if self.trim and self.type is not ValueType.DECIMAL:
            raise _fail(f"column {self.key!r}", "only DECIMAL columns trim their zeros")

    def decimals_for(self, value: Value) -> int:
        """The decimals `value` is shown with: the column's, or for a trimmed column as few as
        the value (rounded to the column's decimals) needs."""
        if not self.trim or not isinstance(value, (int, float, Decimal)):
            return self.decimals
        exact = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
        if not exact.is_finite():
            return self.decimals
        rounded = exact.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP).normalize()
        return min(self.decimals, max(0, -int(rounded.as_tuple().exponent)))

    @property
    def numeric(self) -> bool:
        return self.type not in (ValueType.TEXT, ValueType.DATETIME)


Row: TypeAlias = Sequence[Value]


def _check_columns(where: str, columns: Sequence[Column]) -> None:
    if not columns:
        raise _fail(where, "needs at least one column")
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        raise _fail(where, "column keys must be unique")
    for col in columns:
        if col.formula:
            for ref in _formula_refs(col.formula):
                if ref not in keys:
                    raise _fail(f"{where}.{col.key}", f"formula refers to unknown column {ref!r}")


# `{key}`, `{key.total}` or `{key.cumsum}` inside a column formula template.
FORMULA_FIELD = re.compile(r"\{(\w+)(?:\.(total|cumsum))?\}")


def _formula_refs(template: str) -> list[str]:
    leftover = FORMULA_FIELD.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise ReportInvalid(f"formula {template!r}: placeholders are {{key}}, "
                            "{key.total} or {key.cumsum}")
    return [m[1] for m in FORMULA_FIELD.finditer(template)]


def check_row(where: str, columns: Sequence[Column], row: Row) -> None:
    if len(row) != len(columns):
        raise _fail(where, f"has {len(row)} values for {len(columns)} columns")
    for col, value in zip(columns, row):
        check_value(f"{where}.{col.key}", col.type, value)


@dataclass(frozen=True, slots=True)
class TableSection:
    key: str  # stable id; names the spreadsheet sheet and Excel table
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    totals: Row | None = None  # already rolled up by the KPI engine (sum first, divide last)
    note: str | None = None

    def __post_init__(self) -> None:
        where = f"section {self.key!r}"
        _check_columns(where, self.columns)
        for i, row in enumerate(self.rows):
            check_row(f"{where} row {i + 1}", self.columns, row)
        if self.totals is not None:
            check_row(f"{where} totals", self.columns, self.totals)


def _check_series(where: str, categories: Sequence[str], values: Sequence[Any]) -> None:
    if len(categories) != len(values):
        raise _fail(where, f"{len(categories)} categories but {len(values)} values")
    for c in categories:
        check_value(f"{where} category", ValueType.TEXT, c)


@dataclass(frozen=True, slots=True)
class BarChart:
    """One bar per category, e.g. OEE by machine or rejections by reason."""

    key: str
    title: str
    value_label: str
    value_type: ValueType  # PERCENT, INT, DECIMAL or DURATION
    categories: tuple[str, ...]
    values: tuple[Number | timedelta | None, ...]
    target: Number | timedelta | None = None  # drawn as a reference line
    display_cap: float | None = None  # bars drawn no higher than this

    def __post_init__(self) -> None:
        where = f"chart {self.key!r}"
        _check_series(where, self.categories, self.values)
        if self.value_type in (ValueType.TEXT, ValueType.DATETIME):
            raise _fail(where, "bar values must be numbers or durations")
        for v in self.values:
            check_value(f"{where} value", self.value_type, v)
        check_value(f"{where} target", self.value_type, self.target)


@dataclass(frozen=True, slots=True)
class ParetoChart:
    """Bars in descending order with the cumulative share as a line (e.g. downtime by reason)."""

    key: str
    title: str
    value_label: str
    value_type: ValueType  # INT, DECIMAL or DURATION
    categories: tuple[str, ...]
    values: tuple[Number | timedelta, ...]

    def __post_init__(self) -> None:
        where = f"chart {self.key!r}"
        _check_series(where, self.categories, self.values)
        if self.value_type not in (ValueType.INT, ValueType.DECIMAL, ValueType.DURATION):
            raise _fail(where, "pareto values must be counts, decimals or durations")
        magnitudes = []
        for v in self.values:
            if v is None:
                raise _fail(f"{where} value", "pareto values cannot be n/a")
            check_value(f"{where} value", self.value_type, v)
            magnitudes.append(as_float(v))
        if any(m < 0 for m in magnitudes):
            raise _fail(where, "pareto values cannot be negative")
        if any(a < b for a, b in zip(magnitudes, magnitudes[1:])):
            raise _fail(where, "pareto values must be sorted in descending order")

    @property
    def cumulative(self) -> tuple[float, ...]:
        """Cumulative share (0..1) after each bar; all zeros when there is nothing to share."""
        magnitudes = [as_float(v) for v in self.values]
        total = sum(magnitudes)
        running = 0.0
        out = []
        for m in magnitudes:
            running += m
            out.append(running / total if total else 0.0)
        return tuple(out)


LINE_ROLES = ("data", "centre", "limit")


@dataclass(frozen=True, slots=True)
class LineSeries:
    """One line of a LineChart: `data` is drawn with its points; `centre` (solid) and `limit` (dashed) are
    reference lines, e.g. a control chart's centre line and control limits."""

    name: str
    values: tuple[Number | None, ...]
    role: str = "data"


@dataclass(frozen=True, slots=True)
class LineChart:
    """Values in order as lines, e.g. an SPC control chart: the subgroup means with the centre line and the
    control limits, and the points of the first data series listed in `marked` (out of control) drawn apart."""

    key: str
    title: str
    value_label: str
    value_type: ValueType  # INT or DECIMAL
    categories: tuple[str, ...]
    series: tuple[LineSeries, ...]
    marked: tuple[int, ...] = ()  # indexes into `categories`
    marked_label: str = "Marked"
    decimals: int = 2  # of the axis and the spreadsheet's values

    def __post_init__(self) -> None:
        where = f"chart {self.key!r}"
        if self.value_type not in (ValueType.INT, ValueType.DECIMAL):
            raise _fail(where, "line values must be counts or decimals")
        if not any(s.role == "data" for s in self.series):
            raise _fail(where, "needs a data series")
        for s in self.series:
            if s.role not in LINE_ROLES:
                raise _fail(f"{where} series {s.name!r}", f"role must be one of {', '.join(LINE_ROLES)}")
            _check_series(f"{where} series {s.name!r}", self.categories, s.values)
            for v in s.values:
                check_value(f"{where} series {s.name!r}", self.value_type, v)
        if any(not 0 <= i < len(self.categories) for i in self.marked):
            raise _fail(where, "a marked point is outside the categories")
        if not 0 <= self.decimals <= 6:
            raise _fail(where, "decimals must be between 0 and 6")

    @property
    def data(self) -> LineSeries:
        return next(s for s in self.series if s.role == "data")


Chart: TypeAlias = BarChart | ParetoChart | LineChart
Section: TypeAlias = TableSection | BarChart | ParetoChart | LineChart


@dataclass(frozen=True, slots=True)
class RawEntries:
    """Row-level records streamed on demand: `rows()` is called once per rendering.

    Pass a function (e.g. one that opens a server-side cursor) rather than a list so a
    million-row export never sits in memory.
    """

    columns: tuple[Column, ...]
    rows: Callable[[], Iterable[Row]]
    title: str = "Raw entries"
    count: int | None = None  # known size, shown where the rows themselves are not

    def __post_init__(self) -> None:
        _check_columns("raw entries", self.columns)
        if not callable(self.rows):
            raise _fail("raw entries", "rows must be a callable returning an iterable")

    def iter_rows(self) -> Iterator[Row]:
        """The rows, each checked for its width (values are typed by the database)."""
        width = len(self.columns)
        for i, row in enumerate(self.rows(), start=1):
            if len(row) != width:
                raise _fail(f"raw entries row {i}", f"has {len(row)} values for {width} columns")
            yield row


@dataclass(frozen=True, slots=True)
class ReportDocument:
    header: ReportHeader
    kpis: KpiSummary | None = None
    sections: tuple[Section, ...] = ()
    raw: RawEntries | None = None
    notes: tuple[str, ...] = field(default=())
    paper: str = "A4"  # or "Letter": the PDF's page size

    def __post_init__(self) -> None:
        if self.paper not in ("A4", "Letter"):
            raise _fail("paper", f"unknown paper size {self.paper!r}")
        keys = [s.key for s in self.sections]
        if len(set(keys)) != len(keys):
            raise _fail("sections", "section keys must be unique")


def as_float(value: Number | timedelta) -> float:
    """Magnitude for charts: durations in seconds."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
