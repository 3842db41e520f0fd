"""The standard report sections, built from typed figures the KPI engine produces.

Each builder fixes the columns, their spreadsheet formulas and the order of rows, so a
report of a given kind looks the same whoever fills it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from factoryos.kpi import Kpis, KpiTotals, compute_kpis
from factoryos.reports.model import (
    RATIO_DISPLAY_CAP,
    BarChart,
    Column,
    KpiSummary,
    ParetoChart,
    TableSection,
    TotalRule,
    Value,
    ValueType,
)

T = ValueType


@dataclass(frozen=True, slots=True)
class ProductionFigures:
    """One machine, shift or operator over the report range (ISO 22400 terms)."""

    planned_time: timedelta  # planned busy time
    run_time: timedelta
    downtime: timedelta  # unplanned stops and unplanned setup
    ideal_time: timedelta  # ideal cycle time × total count
    total: int
    good: int
    rejects: int
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None

    def values(self) -> tuple[Value, ...]:
        return (
            self.planned_time,
            self.run_time,
            self.downtime,
            self.ideal_time,
            self.total,
            self.good,
            self.rejects,
            self.availability,
            self.performance,
            self.quality,
            self.oee,
        )


def _us(value: int) -> timedelta:
    return timedelta(microseconds=value)


def production_figures(totals: KpiTotals, kpis: Kpis | None = None) -> ProductionFigures:
    """Figures of one row from the KPI engine's additive totals (ratios computed last)."""
    kpis = kpis or compute_kpis(totals)
    return ProductionFigures(
        planned_time=_us(totals.planned_busy_us),
        run_time=_us(totals.run_us),
        downtime=_us(totals.unplanned_stop_us + totals.setup_us),
        ideal_time=_us(totals.ideal_us),
        total=totals.total_count,
        good=totals.good_count,
        rejects=totals.reject_count,
        availability=kpis.availability,
        performance=kpis.performance,
        quality=kpis.quality,
        oee=kpis.oee,
    )


def kpi_summary(totals: KpiTotals, kpis: Kpis | None = None) -> KpiSummary:
    """The headline tiles of a report from the roll-up of its whole range."""
    kpis = kpis or compute_kpis(totals)
    return KpiSummary(
        oee=kpis.oee,
        availability=kpis.availability,
        performance=kpis.performance,
        quality=kpis.quality,
        good=totals.good_count,
        rejects=totals.reject_count,
        downtime=_us(totals.unplanned_stop_us + totals.setup_us),
        no_data=_us(totals.no_data_us) if totals.no_data_us else None,
        mtbf=kpis.mtbf,
        mttr=kpis.mttr,
        target_attainment=kpis.target_attainment,
    )


PRODUCTION_COLUMNS: tuple[Column, ...] = (
    Column("planned_time", "Planned time", T.DURATION, total=TotalRule.SUM),
    Column("run_time", "Run time", T.DURATION, total=TotalRule.SUM),
    Column("downtime", "Downtime", T.DURATION, total=TotalRule.SUM),
    Column("ideal_time", "Ideal time", T.DURATION, total=TotalRule.SUM),
    Column("total", "Total", T.INT, total=TotalRule.SUM),
    Column("good", "Good", T.INT, total=TotalRule.SUM),
    Column("rejects", "Rejects", T.INT, total=TotalRule.SUM),
    Column(
        "availability", "Avail.", T.PERCENT,
        formula="{run_time}/{planned_time}", total=TotalRule.FORMULA,
    ),
    Column(
        "performance", "Perf.", T.PERCENT, formula="{ideal_time}/{run_time}",
        total=TotalRule.FORMULA, display_cap=RATIO_DISPLAY_CAP,
    ),
    Column("quality", "Quality", T.PERCENT, formula="{good}/{total}", total=TotalRule.FORMULA),
    Column(
        # As the KPI engine: a zero factor makes OEE 0 even when a later one is undefined
        # (a machine that never ran has an OEE of 0, not n/a).
        "oee", "OEE", T.PERCENT,
        formula=(
            "IF(OR({availability}=0,{performance}=0,{quality}=0),0,"
            "{availability}*{performance}*{quality})"
        ),
        total=TotalRule.FORMULA, display_cap=RATIO_DISPLAY_CAP,
    ),
)


def production_table(
    key: str,
    title: str,
    key_columns: Sequence[Column],
    rows: Iterable[tuple[Sequence[Value], ProductionFigures]],
    totals: ProductionFigures | None = None,
    note: str | None = None,
) -> TableSection:
    """Rows are (key values, figures); key columns name the group (machine, shift, operator)."""
    blank_keys = (None,) * len(key_columns)
    return TableSection(
        key=key,
        title=title,
        columns=tuple(key_columns) + PRODUCTION_COLUMNS,
        rows=tuple(tuple(keys) + figures.values() for keys, figures in rows),
        totals=blank_keys + totals.values() if totals is not None else None,
        note=note,
    )


@dataclass(frozen=True, slots=True)
class ReasonFigures:
    """Stops or rejections booked against one reason."""

    reason: str
    category: str | None
    count: int
    duration: timedelta | None = None  # downtime reasons only
    planned: bool = False  # a planned stop: not downtime, kept out of the loss Pareto
    setup: bool = False  # booked to a setup reason: part of the setup loss


NO_DATA = "No data"
NO_DATA_CATEGORY = "Machine not read"


def no_data_reason(totals: KpiTotals) -> ReasonFigures | None:
    """The "No data" line of the loss lists: time the machine could not be read, as the KPI
    engine charged it (outside breaks and recorded stops); None when there was none."""
    if not totals.no_data_us:
        return None
    return ReasonFigures(NO_DATA, NO_DATA_CATEGORY, totals.no_data_count, _us(totals.no_data_us))


SETUP = "Setup, no reason booked"
SETUP_CATEGORY = "Setup"


def setup_reason(totals: KpiTotals, losses: Iterable[ReasonFigures], stretches: int) -> ReasonFigures | None:
    """The setup loss that no reason row holds: setup the machines signalled and the changeovers
    orders opened with have no downtime event, so no reason. Its time is the KPI engine's setup
    loss less the downtime booked to setup reasons; None when there is none."""
    booked = sum((r.duration or timedelta() for r in losses if r.setup), timedelta())
    rest = _us(totals.setup_us) - booked
    if rest <= timedelta():
        return None
    return ReasonFigures(SETUP, SETUP_CATEGORY, max(stretches, 1), rest)


def _shares(magnitudes: Sequence[float]) -> tuple[list[float | None], list[float | None]]:
    total = sum(magnitudes)
    shares: list[float | None] = []
    cumulative: list[float | None] = []
    running = 0.0
    for m in magnitudes:
        running += m
        shares.append(m / total if total else None)
        cumulative.append(running / total if total else None)
    return shares, cumulative


_REASON_KEYS = (Column("reason", "Reason"), Column("category", "Category"))


def downtime_table(
    reasons: Iterable[ReasonFigures],
    key: str = "downtime_by_reason",
    title: str = "Downtime by reason",
) -> TableSection:
    ordered = sorted(reasons, key=lambda r: (-(r.duration or timedelta()), r.reason))
    seconds = [(r.duration or timedelta()).total_seconds() for r in ordered]
    shares, cumulative = _shares(seconds)
    columns = _REASON_KEYS + (
        Column("stops", "Stops", T.INT, total=TotalRule.SUM),
        Column("duration", "Downtime", T.DURATION, total=TotalRule.SUM),
        Column(
            "share", "Share", T.PERCENT,
            formula="{duration}/{duration.total}", total=TotalRule.FORMULA,
        ),
        Column(
            "cumulative", "Cumulative", T.PERCENT,
            formula="{duration.cumsum}/{duration.total}", total=TotalRule.NONE,
        ),
    )
    rows = tuple(
        (r.reason, r.category, r.count, r.duration, s, c)
        for r, s, c in zip(ordered, shares, cumulative)
    )
    total_duration = timedelta(seconds=sum(seconds))
    totals = (None, None, sum(r.count for r in ordered), total_duration,
              1.0 if seconds and sum(seconds) else None, None)
    return TableSection(key=key, title=title, columns=columns, rows=rows, totals=totals)


NOT_DOWNTIME_TITLE = "Not downtime (planned, no data)"  # fits a sheet name (31)


def not_downtime_table(reasons: Iterable[ReasonFigures], loss_total: timedelta, downtime: timedelta) -> TableSection:
    """Stops the Downtime figure leaves out, apart from the loss Pareto, with how they reconcile."""
    table = downtime_table(reasons, key="not_downtime", title=NOT_DOWNTIME_TITLE)
    columns = tuple(replace(c, label="Duration") if c.key == "duration" else c for c in table.columns)
    return TableSection(table.key, table.title, columns, table.rows, table.totals,
                        downtime_reconciliation(loss_total, downtime))


def downtime_reconciliation(loss_total: timedelta, downtime: timedelta) -> str:
    """How the reasons add up to the Downtime figure, in words a supervisor can check."""
    from factoryos.reports.values import format_duration

    text = (f"The Downtime figure ({format_duration(downtime)}) counts unplanned stops and setup: "
            f"{format_duration(loss_total)} in the downtime reasons. Planned stops and time no machine could be "
            "read are listed here and are not downtime.")
    if abs((loss_total - downtime).total_seconds()) >= 1:
        text += (" The figure differs from the reasons' sum because stops shorter than the site's micro-stop "
                 "threshold count as speed loss and overlapping stops of a machine count once.")
    return text


def rejections_table(
    reasons: Iterable[ReasonFigures],
    key: str = "rejections_by_reason",
    title: str = "Rejections by reason",
) -> TableSection:
    ordered = sorted(reasons, key=lambda r: (-r.count, r.reason))
    shares, cumulative = _shares([float(r.count) for r in ordered])
    columns = _REASON_KEYS + (
        Column("rejects", "Rejects", T.INT, total=TotalRule.SUM),
        Column(
            "share", "Share", T.PERCENT,
            formula="{rejects}/{rejects.total}", total=TotalRule.FORMULA,
        ),
        Column(
            "cumulative", "Cumulative", T.PERCENT,
            formula="{rejects.cumsum}/{rejects.total}", total=TotalRule.NONE,
        ),
    )
    rows = tuple(
        (r.reason, r.category, r.count, s, c) for r, s, c in zip(ordered, shares, cumulative)
    )
    total = sum(r.count for r in ordered)
    totals = (None, None, total, 1.0 if total else None, None)
    return TableSection(key=key, title=title, columns=columns, rows=rows, totals=totals)


def downtime_pareto(
    reasons: Iterable[ReasonFigures],
    key: str = "downtime_pareto",
    title: str = "Downtime by reason (Pareto)",
) -> ParetoChart:
    ordered = sorted(reasons, key=lambda r: (-(r.duration or timedelta()), r.reason))
    return ParetoChart(
        key=key,
        title=title,
        value_label="Downtime",
        value_type=T.DURATION,
        categories=tuple(r.reason for r in ordered),
        values=tuple(r.duration or timedelta() for r in ordered),
    )


def rejections_chart(
    reasons: Iterable[ReasonFigures],
    key: str = "rejections_chart",
    title: str = "Rejections by reason",
) -> BarChart:
    ordered = sorted(reasons, key=lambda r: (-r.count, r.reason))
    return BarChart(
        key=key,
        title=title,
        value_label="Rejects",
        value_type=T.INT,
        categories=tuple(r.reason for r in ordered),
        values=tuple(r.count for r in ordered),
    )


def oee_chart(
    machines: Iterable[tuple[str, float | None]],
    key: str = "oee_by_machine",
    title: str = "OEE by machine",
    target: float | None = 0.85,
) -> BarChart:
    pairs = list(machines)
    return BarChart(
        key=key,
        title=title,
        value_label="OEE",
        value_type=T.PERCENT,
        categories=tuple(name for name, _ in pairs),
        values=tuple(value for _, value in pairs),
        target=target,
        display_cap=RATIO_DISPLAY_CAP,
    )
