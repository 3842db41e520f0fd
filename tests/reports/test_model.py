"""The report model refuses documents a renderer could not show truthfully."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from factoryos.kpi import KpiTotals
from factoryos.reports import (
    Column,
    KpiSummary,
    ParetoChart,
    RawEntries,
    ReportHeader,
    ReportInvalid,
    ReportKind,
    TableSection,
    TotalRule,
    ValueType,
)
from factoryos.reports.sections import (
    ReasonFigures,
    downtime_pareto,
    downtime_table,
    kpi_summary,
    production_figures,
)

T = ValueType
START = datetime(2025, 3, 3, 5, tzinfo=UTC)


def header(**changes: object) -> ReportHeader:
    values: dict[str, object] = {
        "company": "ACME", "site": "Plant 1", "timezone": "Europe/Warsaw",
        "start": START, "end": START + timedelta(hours=8),
        "kind": ReportKind.OEE_SUMMARY, "generated_by": "Ünal", "generated_at": START,
    }
    values.update(changes)
    return ReportHeader(**values)  # type: ignore[arg-type]


def test_header_accepts_aware_range() -> None:
    h = header()
    assert h.tz == ZoneInfo("Europe/Warsaw")
    assert h.display_title == "OEE summary"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"start": datetime(2025, 3, 3, 6)}, "header.start"),
        ({"generated_at": datetime(2025, 3, 3, 6)}, "header.generated_at"),
        ({"end": START}, "must be after start"),
        ({"timezone": "Mars/Olympus"}, "unknown IANA timezone"),
        ({"kind": "weekly"}, "unknown report kind"),
    ],
)
def test_header_rejects(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ReportInvalid) as caught:
        header(**changes)
    assert caught.value.code == "report_invalid"
    assert fragment in str(caught.value)


COLUMNS = (Column("machine", "Machine"), Column("good", "Good", T.INT),
           Column("oee", "OEE", T.PERCENT))


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ((("Press", 3),), "has 2 values for 3 columns"),
        ((("Press", "3", 0.5),), "row 1.good: expected int"),
        ((("Press", True, 0.5),), "expected int, got bool"),
        ((("Press", 3, "85%"),), "row 1.oee: expected percent"),
        ((("Press", 3, 0.5), (7, 3, 0.5)), "row 2.machine: expected text"),
    ],
)
def test_table_rejects_bad_rows(rows: tuple, fragment: str) -> None:
    with pytest.raises(ReportInvalid, match=fragment):
        TableSection("t", "Table", COLUMNS, rows)


def test_table_accepts_none_as_not_available() -> None:
    section = TableSection("t", "Table", COLUMNS, (("Press", None, None),),
                           totals=(None, None, None))
    assert section.rows[0][1] is None


def test_datetime_cells_must_be_aware() -> None:
    with pytest.raises(ReportInvalid, match="aware datetime"):
        TableSection("t", "T", (Column("at", "At", T.DATETIME),), ((datetime(2025, 1, 1),),))


@pytest.mark.parametrize(
    ("column", "fragment"),
    [
        (Column("oee", "OEE", T.PERCENT, formula="{a}*{nope}"), "unknown column 'nope'"),
        (Column("oee", "OEE", T.PERCENT, formula="{a.mean}"), "placeholders are"),
    ],
)
def test_formulas_must_name_columns_of_the_table(column: Column, fragment: str) -> None:
    with pytest.raises(ReportInvalid, match=fragment):
        TableSection("t", "T", (Column("a", "A", T.PERCENT), column), ())


def test_column_rules() -> None:
    with pytest.raises(ReportInvalid, match="identifier"):
        Column("run time", "Run time")
    with pytest.raises(ReportInvalid, match="needs a formula"):
        Column("oee", "OEE", T.PERCENT, total=TotalRule.FORMULA)
    with pytest.raises(ReportInvalid, match="unique"):
        TableSection("t", "T", (Column("a", "A"), Column("a", "B")), ())


def test_pareto_must_be_descending_and_sums_to_one() -> None:
    with pytest.raises(ReportInvalid, match="descending"):
        ParetoChart("p", "P", "Stops", T.INT, ("a", "b"), (1, 5))
    chart = ParetoChart("p", "P", "Stops", T.INT, ("a", "b", "c"), (6, 3, 1))
    assert chart.cumulative == pytest.approx((0.6, 0.9, 1.0))


def test_reason_builders_sort_and_share() -> None:
    reasons = [
        ReasonFigures("Jam", "Mechanical", 4, timedelta(minutes=10)),
        ReasonFigures("Tool change", "Setup", 1, timedelta(minutes=30)),
    ]
    table = downtime_table(reasons)
    assert [r[0] for r in table.rows] == ["Tool change", "Jam"]
    assert table.rows[0][4] == pytest.approx(0.75)
    assert table.rows[1][5] == pytest.approx(1.0)
    assert table.totals == (None, None, 5, timedelta(minutes=40), 1.0, None)
    pareto = downtime_pareto(reasons)
    assert pareto.categories == ("Tool change", "Jam")


def test_kpi_tiles_show_core_figures_even_when_unknown() -> None:
    tiles = KpiSummary(oee=0.7, good=10).tiles()
    assert [t.key for t in tiles] == [
        "oee", "availability", "performance", "quality", "good", "rejects", "downtime"]
    assert tiles[1].value is None
    assert "mtbf" in [t.key for t in KpiSummary(mtbf=timedelta(hours=2)).tiles()]
    with pytest.raises(ReportInvalid, match="kpis.good"):
        KpiSummary(good=1.5).tiles()  # type: ignore[arg-type]


def test_raw_rows_are_checked_while_streaming() -> None:
    raw = RawEntries(COLUMNS, rows=lambda: iter([("Press", 1, 0.5), ("Lathe", 2)]))
    rows = raw.iter_rows()
    assert next(rows) == ("Press", 1, 0.5)
    with pytest.raises(ReportInvalid, match="raw entries row 2"):
        next(rows)
    with pytest.raises(ReportInvalid, match="callable"):
        RawEntries(COLUMNS, rows=[("Press", 1, 0.5)])  # type: ignore[arg-type]


def test_figures_come_from_kpi_engine_totals() -> None:
    hour = 3_600_000_000
    totals = KpiTotals(calendar_us=8 * hour, break_us=hour // 2, planned_stop_us=hour // 2,
                       setup_us=hour // 2, unplanned_stop_us=hour, good_count=950,
                       reject_count=50, ideal_us=5 * hour, failure_count=2)
    figures = production_figures(totals)
    assert figures.planned_time == timedelta(hours=7)
    assert figures.run_time == timedelta(hours=5.5)
    assert figures.downtime == timedelta(hours=1.5)
    assert figures.ideal_time == timedelta(hours=5)
    assert (figures.total, figures.good, figures.rejects) == (1000, 950, 50)
    assert figures.availability == pytest.approx(5.5 / 7)
    assert figures.oee == pytest.approx(5.5 / 7 * 5 / 5.5 * 0.95)
    summary = kpi_summary(totals)
    assert summary.oee == figures.oee and summary.downtime == figures.downtime
    assert summary.mtbf == timedelta(hours=2.75)
