"""The quality report's control charts: per characteristic an X̄ (or I) and an R (or MR) line chart whose
series are the SPC endpoint's numbers (the data, the centre line and the control limits), with the
out-of-control points marked — in the JSON, in the XLSX's native chart (the cells its series point at)
and in the PDF's drawing (points placed at the values, one square per marked point)."""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from reportlab.graphics.shapes import Drawing, PolyLine, Rect

from factoryos.quality import spc
from factoryos.reports.model import LineChart, LineSeries, ValueType
from factoryos.reports.pdf_charts import _LINE_BOTTOM, _TOP, _line_drawing, _line_range
from tests.quality import support

# Five steady subgroups around 10.00, one whose mean is far off (4) and one whose range is wide (5).
VALUES = [["10.00", "10.01", "9.99"], ["10.01", "10.00", "10.02"], ["9.99", "10.00", "10.01"],
          ["10.00", "10.02", "10.01"], ["10.20", "10.21", "10.19"], ["9.90", "10.10", "10.00"],
          ["10.01", "10.00", "9.99"]]
OFF_MEAN, WIDE_RANGE = 4, 5


def history(api, owner, app_engine) -> dict:
    shop = support.running_shop(api, owner, app_engine)
    p = support.plan(api, owner, product_id=shop["product"]["id"])
    support.release(api, owner, p["id"])
    v = support.get_version(api, owner, p["id"])
    for values in VALUES:
        r = support.inspect(api, owner, shop["machine"]["id"], p["id"], v, values=values)
        assert r.status_code == 201, r.text
    today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    spc_out = api.get("/api/v1/quality/spc", headers=owner.headers,
                      params={"characteristic_id": v["characteristics"][0]["id"]}).json()
    return {"params": {"product": shop["product"]["number"], "from": today, "to": today}, "spc": spc_out}


def expected_marks(s: dict) -> tuple[list[int], list[int]]:
    """From the SPC endpoint: X̄ points beyond their limits (or in a run / trend), R beyond theirs."""
    loc, spread = s["location"], s["spread"]
    x = [i for i, p in enumerate(s["points"]) if not loc["lower"] <= p["value"] <= loc["upper"]
         or any(r != "beyond_limits" for r in p["rules"])]
    r = [i for i, p in enumerate(s["points"]) if p["spread"] is not None
         and not spread["lower"] <= p["spread"] <= spread["upper"]]
    return x, r


def test_control_charts_plot_the_spc_numbers(api, owner, app_engine) -> None:
    world = history(api, owner, app_engine)
    s = world["spc"]
    assert s["kind"] == "xbar_r" and len(s["points"]) == len(VALUES)
    marks_x, marks_r = expected_marks(s)
    assert (marks_x, marks_r) == ([OFF_MEAN], [WIDE_RANGE])  # the planted signals, found by the limits

    r = api.get("/api/v1/reports/quality", params=world["params"] | {"format": "json"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    sections = {x["key"]: x for x in r.json()["sections"]}
    for key, values, limits, marks in (("spc_bore_x", [p["value"] for p in s["points"]], s["location"], marks_x),
                                       ("spc_bore_r", [p["spread"] for p in s["points"]], s["spread"], marks_r)):
        chart = sections[key]
        assert chart["type"] == "line_chart"
        series = {x["name"]: x for x in chart["series"]}
        data = next(x for x in chart["series"] if x["role"] == "data")
        assert data["values"] == pytest.approx(values)
        for name, field in (("UCL", "upper"), ("CL", "centre"), ("LCL", "lower")):
            assert series[name]["values"] == pytest.approx([limits[field]] * len(values))
        assert (series["UCL"]["role"], series["CL"]["role"], series["LCL"]["role"]) == ("limit", "centre", "limit")
        assert chart["marked"] == marks and chart["marked_label"] == "Out of control"
    keys = [x["key"] for x in r.json()["sections"]]
    assert keys.index("spc_bore_x") < keys.index("spc_bore_r") < keys.index("spc_bore")

    r = api.get("/api/v1/reports/quality", params=world["params"] | {"format": "xlsx"}, headers=owner.headers)
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    for title, values, limits, marks in (("X̄", [p["value"] for p in s["points"]], s["location"], marks_x),
                                         ("R (r", [p["spread"] for p in s["points"]], s["spread"], marks_r)):
        ws = next(w for w in wb.worksheets if title in w.title)
        (chart,) = ws._charts  # noqa: SLF001  (openpyxl keeps no public list)
        plotted = {_cells(ws, x.tx.strRef.f)[0]: _cells(ws, x.val.numRef.f) for x in chart.series}
        assert [k.split(" ")[0] for k in plotted] == [title.split(" ")[0], "UCL", "CL", "LCL", "Out"]
        data = list(plotted.values())
        assert data[0] == pytest.approx(values)
        assert data[1] == pytest.approx([limits["upper"]] * len(values))
        assert data[2] == pytest.approx([limits["centre"]] * len(values))
        assert data[3] == pytest.approx([limits["lower"]] * len(values))
        # The marked points' series holds the data value at each marked point and nothing elsewhere.
        assert [i for i, v in enumerate(data[4]) if v is not None] == marks
        assert [data[4][i] for i in marks] == pytest.approx([values[i] for i in marks])

    r = api.get("/api/v1/reports/quality", params=world["params"] | {"format": "pdf"}, headers=owner.headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def _cells(ws, ref: str) -> list:
    """The values a chart reference ('Sheet'!$B$2:$B$8 or 'Sheet'!B1) points at."""
    m = re.fullmatch(r"'?.*?'?!\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?", ref)
    assert m is not None, ref
    col, first, _, last = m.groups()
    return [ws[f"{col}{row}"].value for row in range(int(first), int(last or first) + 1)]


def test_the_pdf_drawing_places_each_point_at_its_value() -> None:
    """A worked X̄-R chart drawn: the data line's points map back to the subgroup means on the axis, each
    reference line to its limit, and each marked point is a square."""
    groups = [[10.0, 10.02, 9.98], [10.01, 9.99, 10.0], [10.03, 10.01, 10.02], [9.99, 10.0, 10.0],
              [10.08, 10.09, 10.07], [10.0, 10.01, 10.02], [9.99, 10.0, 10.01], [10.02, 10.0, 9.99]]
    c = spc.chart(groups)
    marked = tuple(i for i, p in enumerate(c.points) if not c.location.lower <= p.value <= c.location.upper)
    assert marked == (4,)  # the one far-off subgroup
    n = len(c.points)
    model = LineChart("x", "X̄", "X̄", ValueType.DECIMAL, tuple(str(i + 1) for i in range(n)), (
        LineSeries("X̄", tuple(p.value for p in c.points)),
        LineSeries("UCL", (c.location.upper,) * n, "limit"), LineSeries("CL", (c.location.centre,) * n, "centre"),
        LineSeries("LCL", (c.location.lower,) * n, "limit")), marked=marked, decimals=3)
    drawing: Drawing = _line_drawing(model, 480)
    vmin, vmax, _ = _line_range(model)
    plot_height = drawing.height - _LINE_BOTTOM - _TOP

    def value(y: float) -> float:
        return vmin + (y - _LINE_BOTTOM) * (vmax - vmin) / plot_height

    lines = [x for x in drawing.contents if isinstance(x, PolyLine)]
    assert len(lines) == 4  # the data and three reference lines
    data = lines[-1]  # drawn last, over the reference lines
    assert [value(y) for y in data.points[1::2]] == pytest.approx([p.value for p in c.points], abs=1e-9)
    for line, limit in zip(lines[:3], (c.location.upper, c.location.centre, c.location.lower), strict=True):
        assert [value(y) for y in line.points[1::2]] == pytest.approx([limit] * n, abs=1e-9)
    assert lines[0].strokeDashArray and lines[2].strokeDashArray and not lines[1].strokeDashArray
    squares = [x for x in drawing.contents if isinstance(x, Rect) and x.width > 6]
    assert len(squares) == len(marked) + 1  # each marked point, and the legend's sample
    x_of_mark = data.points[2 * marked[0]]
    assert any(abs(sq.x + sq.width / 2 - x_of_mark) < 1e-6 for sq in squares)
