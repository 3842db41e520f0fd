"""`GET /api/v1/reports/orders` over real HTTP: one order's operations, runs, setup, counts and OEE.

The order is written into the database (see `order_seed.py`); each run's figures are checked
against `/api/v1/kpis/oee` for its machine and span, and the counts and times by hand.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.accounts import new_company
from tests.production.plant import problem
from tests.reports.order_seed import (
    DAY,
    LATHE_RUN,
    LONG_PRODUCT,
    OPERATOR,
    PRESS_RUN,
    OrderPlant,
    seed_long_order,
    seed_order,
    seed_running_order,
)
from tests.reports.test_api_reports import section, tiles


@pytest.fixture(scope="module")
def order(api_client: httpx.Client, app_engine) -> OrderPlant:
    return seed_order(api_client, app_engine)


def order_report(http: httpx.Client, o: OrderPlant, fmt: str = "json", **params: Any) -> httpx.Response:
    params = params or {"number": o.number}
    r = http.get("/api/v1/reports/orders", params={"format": fmt, **params}, headers=o.owner.headers)
    assert r.status_code == 200, r.text
    return r


def machine_kpis(http: httpx.Client, o: OrderPlant, machine: dict[str, Any], span: tuple[str, str]) -> dict[str, Any]:
    r = http.get("/api/v1/kpis/oee", params={"scope": "machine", "id": machine["id"], "from": span[0],
                                             "to": span[1]}, headers=o.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_each_run_equals_the_kpi_endpoint_for_its_machine_and_span(api_client, order: OrderPlant) -> None:
    doc = order_report(api_client, order).json()
    runs = section(doc, "runs")["rows"]
    assert [(r["operation"], r["machine"]) for r in runs] == [
        ("10 Stamping", f"{order.press['code']} Prasa 400t"), ("20 Turning", f"{order.lathe['code']} Tokarka CNC")]
    for row, machine, span in ((runs[0], order.press, PRESS_RUN), (runs[1], order.lathe, LATHE_RUN)):
        ref = machine_kpis(api_client, order, machine, span)
        k, t = ref["kpis"], ref["totals"]
        assert (row["oee"], row["availability"], row["performance"], row["quality"]) == (
            k["oee"], k["availability"], k["performance"], k["quality"])
        assert (row["good"], row["rejects"]) == (t["good_count"], t["reject_count"])
        assert (row["planned_time"], row["run_time"], row["ideal_time"]) == (
            t["planned_busy_seconds"], t["run_seconds"], t["ideal_seconds"])
        assert row["operator"] == OPERATOR
    # By hand: the press ran 06:00–08:00 (2 h planned), 105 minutes × 10 good + 5 rejects; the
    # lathe 08:00–11:00 less the 10:00–10:30 break (2.5 h), 150 minutes × 2 good + 3 rejects.
    assert (runs[0]["planned_time"], runs[0]["good"], runs[0]["rejects"]) == (7200, 1050, 5)
    assert (runs[1]["planned_time"], runs[1]["good"], runs[1]["rejects"]) == (9000, 300, 3)
    # Ideal time at the product's standard: the press's routing makes two parts per 10 s cycle (5 s a
    # part); the lathe has no standard, so its own 20 s: 1055 × 5 s = 5275 s, 303 × 20 s = 6060 s.
    assert (runs[0]["ideal_time"], runs[1]["ideal_time"]) == (5275, 6060)
    # OEE = good × ideal time per part ÷ planned time: 1050 × 5 / 7200 and 300 × 20 / 9000.
    assert runs[0]["oee"] == pytest.approx(5250 / 7200, rel=1e-12)
    assert runs[1]["oee"] == pytest.approx(6000 / 9000, rel=1e-12)
    # Setup: declared done at 06:15 on the press; on the lathe until its first counted minute, 08:30.
    assert (runs[0]["setup"], runs[1]["setup"]) == (900, 1800)
    assert (runs[0]["start"], runs[0]["end"]) == ("2026-11-10T06:00:00+00:00", "2026-11-10T08:00:00+00:00")


def test_the_order_totals_are_sums_divided_last(api_client, order: OrderPlant) -> None:
    doc = order_report(api_client, order).json()
    runs = section(doc, "runs")
    press, lathe = (machine_kpis(api_client, order, m, span)["totals"]
                    for m, span in ((order.press, PRESS_RUN), (order.lathe, LATHE_RUN)))
    run_time = press["run_seconds"] + lathe["run_seconds"]
    planned = press["planned_busy_seconds"] + lathe["planned_busy_seconds"]
    ideal = press["ideal_seconds"] + lathe["ideal_seconds"]
    totals = runs["totals"]
    assert (totals["planned_time"], totals["run_time"], totals["good"], totals["rejects"], totals["setup"]) == (
        planned, run_time, 1350, 8, 2700)
    assert totals["availability"] == pytest.approx(run_time / planned, rel=1e-12)
    assert totals["performance"] == pytest.approx(ideal / run_time, rel=1e-12)
    assert totals["quality"] == pytest.approx(1350 / 1358, rel=1e-12)
    t = tiles(doc)
    assert (t["oee"], t["good"], t["rejects"]) == (totals["oee"], 1350, 8)


def test_the_header_and_operations_show_the_order(api_client, order: OrderPlant) -> None:
    doc = order_report(api_client, order, order_id=order.order_id).json()
    header = doc["header"]
    assert header["kind"] == "order" and header["title"] == f"Order {order.number}: P-100 Bracket"
    assert (header["site"], header["start"], header["end"]) == (
        "Gliwice", "2026-11-10T06:00:00+00:00", "2026-11-10T11:00:00+00:00")
    (head,) = section(doc, "order")["rows"]
    assert head == {"order": order.number, "product": "P-100 Bracket", "customer": "Fabryka Okien Łańcut",
                    "quantity": 1000, "due_date": "2026-11-20", "status": "running", "good": 300, "progress": 0.3}
    ops = section(doc, "operations")
    stamping, turning = ops["rows"]
    assert (stamping["seq"], stamping["operation"], stamping["status"], stamping["good"], stamping["scrap"]) == (
        10, "Stamping", "completed", 1050, 5)
    assert (stamping["setup"], stamping["standard_setup"]) == (900, 900)
    assert (turning["good"], turning["scrap"], turning["setup"], turning["standard_setup"]) == (300, 3, 1800, 1200)
    assert turning["machines"] == f"{order.lathe['code']} Tokarka CNC"
    assert ops["totals"]["scrap"] == 8 and ops["totals"]["setup"] == 2700
    assert ops["totals"]["oee"] == section(doc, "runs")["totals"]["oee"]


def test_pdf_and_xlsx_hold_the_same_order(api_client, order: OrderPlant) -> None:
    pdf = order_report(api_client, order, "pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="order-{order.number}.pdf"'
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (f"Order {order.number}: P-100 Bracket", "10 Stamping", "20 Turning", "Fabryka Okien Łańcut",
                     "Tokarka CNC", OPERATOR):
        assert expected in text
    xlsx = order_report(api_client, order, "xlsx")
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["Summary", "Order", "Operations", "Runs", "OEE by operation"]
    runs = wb["Runs"]
    assert [c.value for c in runs[1]][:6] == ["Operation", "Machine", "Operator", "Start (UTC)", "End (UTC)", "Setup"]
    assert (runs["A2"].value, runs["J2"].value, runs["L2"].value) == ("10 Stamping", timedelta(seconds=5275), 1050)
    assert runs["L4"].value == "=SUM(L2:L3)"  # the totals row follows edits in the sheet
    assert wb["Order"]["H2"].value == '=IFERROR(G2/D2,"n/a")'  # progress: finished ÷ quantity


def test_a_long_order_fits_the_page_with_names_clipped(api_client, app_engine, order: OrderPlant) -> None:
    number = seed_long_order(app_engine, order, runs=40)
    doc = order_report(api_client, order, number=number).json()
    assert len(section(doc, "runs")["rows"]) == 40
    pdf = PdfReader(io.BytesIO(order_report(api_client, order, "pdf", number=number).content))
    assert pdf.pages[0].mediabox.width > pdf.pages[0].mediabox.height  # the runs table needs landscape
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert text.count("2026-11-11 ") >= 2 * 40  # every run's start and end, across pages
    assert LONG_PRODUCT.strip() not in text and "…" in text  # too long for its column or the title: clipped
    assert f"Order {number}: Wspornik" in text


def test_a_running_order_shows_figures_so_far(api_client, app_engine, order: OrderPlant) -> None:
    number = seed_running_order(app_engine, order)
    doc = order_report(api_client, order, number=number).json()
    assert doc["notes"][0].startswith("The order is running: figures up to ")
    (run,) = section(doc, "runs")["rows"]
    (op,) = section(doc, "operations")["rows"]
    assert run["end"] is None and op["end"] is None and op["status"] == "running"
    # Nothing counted yet: the whole run so far is its setup (30 minutes and the seconds the test took).
    assert 1800 <= run["setup"] < 1800 + 120 and op["setup"] == run["setup"]


def test_unknown_orders_and_bad_queries_are_problems(api_client, order: OrderPlant) -> None:
    who = order.owner.headers
    r = api_client.get("/api/v1/reports/orders", params={"number": "MO-nope"}, headers=who)
    problem(r, 404, "order_not_found", "number")
    r = api_client.get("/api/v1/reports/orders", params={"format": "json"}, headers=who)
    problem(r, 422, "required", "order_id")
    r = api_client.get("/api/v1/reports/orders", params={"number": order.number, "format": "docx"}, headers=who)
    problem(r, 422, "report_format_unsupported", "format")
    # Another company's order is not found.
    other = new_company(api_client)
    r = api_client.get("/api/v1/reports/orders", params={"order_id": order.order_id}, headers=other.headers)
    problem(r, 404, "order_not_found", "order_id")


def test_shift_report_names_the_orders_on_each_machine(api_client, order: OrderPlant) -> None:
    r = api_client.get("/api/v1/reports/shifts", params={"format": "json", "site_id": order.site["id"], "date": DAY,
                                                         "shift": "Day"}, headers=order.owner.headers)
    assert r.status_code == 200, r.text
    doc = r.json()
    rows = section(doc, "orders")["rows"]  # machines in the machine table's order (by code)
    assert sorted((r["machine"], r["order"], r["product"], r["operation"], r["time"], r["good"], r["scrap"])
                  for r in rows) == [
        ("Prasa 400t", order.number, "P-100 Bracket", "10 Stamping", 7200, 1050, 5),
        ("Tokarka CNC", order.number, "P-100 Bracket", "20 Turning", 10800, 300, 3)]
    totals = section(doc, "orders")["totals"]
    assert (totals["time"], totals["good"], totals["scrap"]) == (18000, 1350, 8)
    # Summed, then divided: ideal time over planned time, times quality.
    assert totals["oee"] == pytest.approx((5275 + 6060) / (7200 + 9000) * 1350 / 1358, rel=1e-12)
    machines = {m["machine"]: m for m in section(doc, "shift_machines")["rows"]}
    assert machines["Prasa 400t"]["good"] == 1050 and machines["Tokarka CNC"]["rejects"] == 3


def test_machine_report_cuts_the_orders_to_its_period(api_client, order: OrderPlant) -> None:
    # 07:00–09:00 holds the press run's second hour and the lathe run's first.
    r = api_client.get("/api/v1/reports/machines", params={
        "format": "json", "site_id": order.site["id"], "from": "2026-11-10T07:00:00Z", "to": "2026-11-10T09:00:00Z"},
        headers=order.owner.headers)
    assert r.status_code == 200, r.text
    rows = {row["operation"]: row for row in section(r.json(), "orders")["rows"]}
    press, lathe = rows["10 Stamping"], rows["20 Turning"]
    # By hand: the press counts minutes 07:00–07:59 (60 × 10 good, 5 rejects at 07:00); the lathe
    # 08:30–08:59 (30 × 2 good; its rejects came at 09:00, outside).
    assert (press["start"], press["end"], press["time"], press["good"], press["scrap"]) == (
        "2026-11-10T07:00:00+00:00", "2026-11-10T08:00:00+00:00", 3600, 600, 5)
    assert (lathe["start"], lathe["end"], lathe["time"], lathe["good"], lathe["scrap"]) == (
        "2026-11-10T08:00:00+00:00", "2026-11-10T09:00:00+00:00", 3600, 60, 0)
    for row, machine, span in ((press, order.press, ("2026-11-10T07:00:00Z", "2026-11-10T08:00:00Z")),
                               (lathe, order.lathe, ("2026-11-10T08:00:00Z", "2026-11-10T09:00:00Z"))):
        assert row["oee"] == machine_kpis(api_client, order, machine, span)["kpis"]["oee"]
