"""Report defects of issue 21 against the real server: planned stops apart from the losses
(see test_api_reports), a running shift counted only as far as it is reported, ranges of whole
shifts and partial ones marked, a line report's own file name, readable chart labels and
below-target bars told apart without colour."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pypdf import PdfReader
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Circle, Line, String

from factoryos.reports import BarChart, ValueType
from factoryos.reports.pdf import render_pdf
from factoryos.reports.pdf_charts import _bar_drawing, _pareto_drawing
from factoryos.reports.pdf_style import WHITE
from factoryos.reports.sections import ReasonFigures, downtime_pareto, oee_chart
from factoryos.reports.synthetic import synthetic_report
from factoryos.reports.model import ReportKind
from tests.accounts import join, new_company
from tests.production import plant
from tests.reports.seed import NIGHT_DATE, Plant
from tests.reports.test_api_reports import get_report, section, tiles


def _report(http: httpx.Client, who: Any, topic: str, **params: Any) -> dict[str, Any]:
    r = http.get(f"/api/v1/reports/{topic}", params={"format": "json", **params}, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_running_shift_counts_only_what_was_reported(api_client: httpx.Client) -> None:
    """A shift that began two hours ago on machines entered by hand: one has its first hour
    entered, the other nothing yet. Unreported time is neither run time nor a loss."""
    owner = new_company(api_client, timezone="UTC")
    worker = join(api_client, owner, "operator")
    site = plant.site(api_client, owner, timezone="UTC")
    plant.operator(api_client, owner, site["id"], worker.user_id)
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    shift = plant.shift(api_client, owner, site["id"], "Early", f"{start:%H:00}",
                        f"{(start + timedelta(hours=8)):%H:00}")
    entered = plant.machine(api_client, owner, site["id"], cycle=10, name="Entered", code=plant.code("EN"))
    plant.machine(api_client, owner, site["id"], cycle=10, name="Silent", code=plant.code("SI"))
    r = api_client.post("/api/v1/production/entry", headers=owner.headers, json={
        "machine_id": entered["id"], "shift_id": shift["id"], "shift_date": start.date().isoformat(),
        "good_quantity": 300, "operator_id": worker.user_id, "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=1)).isoformat()})
    assert r.status_code == 201, r.text

    doc = _report(api_client, owner, "shifts", site_id=site["id"], date=start.date().isoformat(), shift="Early")
    rows = {r["machine"]: r for r in section(doc, "shift_machines")["rows"]}
    # The hour entered, not the two hours elapsed: 300 parts × 10 s = 50 min of 60.
    assert rows["Entered"]["planned_time"] == rows["Entered"]["run_time"] == 3600
    assert abs(rows["Entered"]["performance"] - 3000 / 3600) < 1e-9
    assert rows["Silent"]["planned_time"] == 0 and rows["Silent"]["availability"] is None
    assert rows["Entered"]["shift"] == "Early (partial)"
    assert tiles(doc)["availability"] == 1.0 and abs(tiles(doc)["performance"] - 3000 / 3600) < 1e-9
    notes = " ".join(doc["notes"])
    assert "has not ended" in notes and "only up to their last entry" in notes and "nothing yet" in notes
    assert "(partial)" in notes


def test_range_of_instants_marks_the_shifts_it_cuts(api_client: httpx.Client, seeded: Plant) -> None:
    doc = get_report(api_client, seeded, "shifts", **{"from": "2026-11-16T22:00", "to": "2026-11-17T10:15"}).json()
    names = [r["shift"] for r in section(doc, "by_shift")["rows"]]
    assert names == ["Night", "Morning (partial)"]  # the morning is cut at 10:15
    assert any("(partial)" in n for n in doc["notes"])


def test_line_report_has_its_own_file_name(api_client: httpx.Client, seeded: Plant) -> None:
    site_name = get_report(api_client, seeded, "machines", "pdf", date=NIGHT_DATE).headers["content-disposition"]
    line_name = get_report(api_client, seeded, "machines", "pdf", line_id=seeded.line["id"],
                           date=NIGHT_DATE).headers["content-disposition"]
    assert site_name == f'attachment; filename="machines-{seeded.site["code"]}-{NIGHT_DATE}.pdf"'
    assert line_name == f'attachment; filename="machines-{seeded.site["code"]}-{seeded.line["code"]}-{NIGHT_DATE}.pdf"'


def _pdf_text(doc: Any) -> str:
    out = io.BytesIO()
    render_pdf(doc, out)
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(out.getvalue())).pages)


def test_pareto_labels_keep_short_stops_and_whole_reason_names() -> None:
    base = synthetic_report(ReportKind.DOWNTIME_BY_REASON, machines=2)
    pareto = downtime_pareto([
        ReasonFigures("Electrical or control failure", "Equipment failure", 3, timedelta(hours=3, minutes=5)),
        ReasonFigures("Waiting for material from stores", "Logistics", 2, timedelta(hours=0.47)),
    ])
    text = _pdf_text(base.__class__(header=base.header, sections=(pareto,)))
    assert "Downtime (h)" in text  # an hours axis, where 0.47 h used to read "0"
    assert "3:05 h" in text and "28 min" in text
    assert "…" not in text
    words = text.split()
    for word in ("Electrical", "control", "failure", "Waiting", "material", "stores"):
        assert word in words


def test_below_target_is_hatched_and_explained_in_a_legend() -> None:
    chart: BarChart = oee_chart([("Press", 0.9), ("Mill", 0.5), ("Lathe", 0.2)])
    drawing = _bar_drawing(chart, 480, 0, 3)
    hatch = [s for s in drawing.contents if isinstance(s, Line) and s.strokeColor == WHITE]
    assert hatch  # the two bars under the 85 % target, and the legend's swatch
    base = synthetic_report(ReportKind.OEE_SUMMARY, machines=2)
    text = _pdf_text(base.__class__(header=base.header, sections=(chart,)))
    assert "At or above target" in text and "Below target" in text and "Target 85%" in text
    assert chart.value_type is ValueType.PERCENT


def _bar_labels(chart: VerticalBarChart) -> dict[str, tuple[float, float]]:
    """Each bar label's text → its glyphs' bottom and top on the drawing (digits: cap height)."""
    found: dict[str, tuple[float, float]] = {}

    def walk(node: Any, dy: float) -> None:
        dy += node.transform[5] if getattr(node, "transform", None) else 0.0
        for child in getattr(node, "contents", []):
            if isinstance(child, String):
                found[child.text] = (dy + child.y, dy + child.y + 0.72 * child.fontSize)
            elif hasattr(child, "contents"):
                walk(child, dy)
            elif hasattr(child, "draw"):
                walk(child.draw(), dy)

    walk(chart.draw(), 0.0)
    return found


def test_bar_labels_stay_clear_of_the_target_line() -> None:
    """A bar just above the 85 % target had its label inside its top, where the dashed target
    line struck through it ("89%" unreadable on the page)."""
    bars_at = [("CNC mill 01", 0.89), ("CNC mill 03", 0.87), ("Moulder 05", 0.94), ("Lathe", 0.5)]
    drawing = _bar_drawing(oee_chart(bars_at), 480, 0, len(bars_at))
    (bars,) = [c for c in drawing.contents if isinstance(c, VerticalBarChart)]
    (target,) = [c.y1 for c in drawing.contents
                 if isinstance(c, Line) and c.strokeDashArray and c.y1 == c.y2 and c.x2 - c.x1 > 100]
    labels = _bar_labels(bars)
    for text in ("89%", "87%", "94%", "50%"):
        bottom, top = labels[text]
        assert not bottom <= target <= top, (text, bottom, top, target)


def test_pareto_bar_labels_stay_clear_of_the_cumulative_line() -> None:
    """The cumulative share's first point sat on the first bar's label ("66 min" struck through)."""
    pareto = downtime_pareto([ReasonFigures("No reason given", "Unplanned stop", 29, timedelta(minutes=66)),
                              ReasonFigures("Setup", "Setup", 3, timedelta(minutes=19))])
    drawing = _pareto_drawing(pareto, 480)
    (bars,) = [c for c in drawing.contents if isinstance(c, VerticalBarChart)]
    points = [c.cy for c in drawing.contents if isinstance(c, Circle)]
    labels = _bar_labels(bars)
    for text, point in zip(("66 min", "19 min"), points):
        bottom, top = labels[text]
        assert not bottom - 1.8 <= point <= top + 1.8, (text, bottom, top, point)  # the point's radius
