"""`GET /api/v1/reports/{topic}` over real HTTP on a plant seeded through the API.

Numbers are checked against `/api/v1/kpis/oee` for the same period; files are read back
(JSON parsed, PDF text extracted with pypdf, XLSX reopened with openpyxl).
"""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart
from pypdf import PdfReader

from tests.accounts import join, new_company
from tests.production import plant
from tests.reports.seed import COMPANY, MORNING_DATE, NIGHT_DATE, Plant

NIGHT = {"date": NIGHT_DATE, "shift": "Night"}
SAFE_NAME = re.compile(r"^attachment; filename=\"[A-Za-z0-9-]+\.(pdf|xlsx|json)\"$")


def get_report(http: httpx.Client, p: Plant, topic: str, fmt: str = "json", who: Any = None,
               **params: Any) -> httpx.Response:
    params = {"site_id": p.site["id"], **params} if "line_id" not in params else params
    r = http.get(f"/api/v1/reports/{topic}", params={"format": fmt, **params},
                 headers=(who or p.supervisor).headers)
    assert r.status_code == 200, r.text
    return r


def kpis_api(http: httpx.Client, p: Plant, **params: Any) -> dict[str, Any]:
    r = http.get("/api/v1/kpis/oee", params=params, headers=p.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


def tiles(doc: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in doc["kpis"]}


def section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    (found,) = [s for s in doc["sections"] if s["key"] == key]
    return found


def assert_same_kpis(doc: dict[str, Any], ref: dict[str, Any]) -> None:
    """The report's tiles are the KPI endpoint's figures, bit for bit."""
    t, k, totals = tiles(doc), ref["kpis"], ref["totals"]
    assert (t["oee"], t["availability"], t["performance"], t["quality"]) == (
        k["oee"], k["availability"], k["performance"], k["quality"])
    assert (t["good"], t["rejects"]) == (totals["good_count"], totals["reject_count"])
    assert t["downtime"] == totals["unplanned_stop_seconds"] + totals["setup_seconds"]
    assert t.get("mtbf") == k["mtbf_seconds"] and t.get("mttr") == k["mttr_seconds"]
    assert t.get("target_attainment") == k["target_attainment"]


def assert_same_machines(table: dict[str, Any], ref: dict[str, Any]) -> None:
    rows = {r["machine"]: r for r in table["rows"]}
    assert len(rows) == len(ref["machines"])
    for m in ref["machines"]:
        row = rows[m["name"]]
        assert (row["oee"], row["availability"], row["performance"], row["quality"]) == (
            m["kpis"]["oee"], m["kpis"]["availability"], m["kpis"]["performance"], m["kpis"]["quality"])
        assert (row["good"], row["rejects"]) == (m["totals"]["good_count"], m["totals"]["reject_count"])
        assert row["planned_time"] == m["totals"]["planned_busy_seconds"]
        assert row["run_time"] == m["totals"]["run_seconds"]
    assert table["totals"]["good"] == ref["totals"]["good_count"]
    assert table["totals"]["oee"] == ref["kpis"]["oee"]


def test_shift_report_equals_the_kpi_endpoint_for_that_shift(api_client, seeded: Plant) -> None:
    doc = get_report(api_client, seeded, "shifts", **NIGHT).json()
    ref = kpis_api(api_client, seeded, scope="site", id=seeded.site["id"], shift_instance_id=seeded.instances["night"])
    assert_same_kpis(doc, ref)
    table = section(doc, "shift_machines")
    assert_same_machines(table, ref)
    assert table["totals"]["good"] == 2350 and table["totals"]["rejects"] == 17
    assert {r["machine"]: r["operator"] for r in table["rows"]} == {
        "Prasa hydrauliczna": "Łukasz Żółć", "Fräse Ω-5": "Ünal Yılmaz", "Tokarka": "Łukasz Żółć"}
    header = doc["header"]
    assert header["company"].startswith(COMPANY) and header["site"] == "Łódź Hala 2"
    assert (header["start"], header["end"]) == ("2026-11-16T22:00:00+01:00", "2026-11-17T06:00:00+01:00")
    assert header["title"] == "Shift report: Night Mon 2026-11-16"
    assert tiles(doc)["target_attainment"] == 800 / 900  # the press's plan, the only one with a target


@pytest.mark.parametrize(("topic", "report_params", "kpi_params", "table"), [
    # Local dates in Warsaw (UTC+1): the shifts starting on the 16th and the 17th, whole: from the
    # 16th's Morning (06:00) to the end of the 17th's Night (the 18th, 06:00).
    ("machines", {"from": "2026-11-16", "to": "2026-11-17"},
     {"from": "2026-11-16T05:00:00Z", "to": "2026-11-18T05:00:00Z"}, "by_machine"),
    # A local date-time without offset is site time.
    ("production", {"from": "2026-11-16T22:00", "to": "2026-11-17T10:15"},
     {"from": "2026-11-16T21:00:00Z", "to": "2026-11-17T09:15:00Z"}, "by_machine"),
    ("shifts", {"date": MORNING_DATE}, {"date": MORNING_DATE}, None),
    ("operators", {"from": "2026-11-16T12:00:00-05:00", "to": "2026-11-17T12:00:00Z"},
     {"from": "2026-11-16T17:00:00Z", "to": "2026-11-17T12:00:00Z"}, None),
])
def test_range_and_day_reports_equal_the_kpi_endpoint(api_client, seeded: Plant, topic, report_params,
                                                      kpi_params, table) -> None:
    doc = get_report(api_client, seeded, topic, **report_params).json()
    ref = kpis_api(api_client, seeded, scope="site", id=seeded.site["id"], **kpi_params)
    assert_same_kpis(doc, ref)
    if table:
        assert_same_machines(section(doc, table), ref)
    first = doc["sections"][0] if doc["sections"][0]["type"] == "table" else doc["sections"][1]
    assert first["totals"]["good"] == ref["totals"]["good_count"]  # rows add up to the roll-up


def test_line_report_covers_only_the_line(api_client, seeded: Plant) -> None:
    doc = get_report(api_client, seeded, "machines", line_id=seeded.line["id"], **NIGHT).json()
    ref = kpis_api(api_client, seeded, scope="line", id=seeded.line["id"], shift_instance_id=seeded.instances["night"])
    assert_same_kpis(doc, ref)
    assert_same_machines(section(doc, "by_machine"), ref)
    assert {r["machine"] for r in section(doc, "by_machine")["rows"]} == {"Prasa hydrauliczna", "Fräse Ω-5"}
    assert doc["header"]["site"] == "Łódź Hala 2 — Montaż"


def test_week_of_shifts_lists_each_shift_and_its_machines(api_client, seeded: Plant) -> None:
    doc = get_report(api_client, seeded, "shifts", **{"from": NIGHT_DATE, "to": MORNING_DATE}).json()
    by_shift = section(doc, "by_shift")
    # The shifts that start on the 16th and the 17th, whole: no row for the 15th's night (it
    # started the day before), and the 17th's night runs to its end at 06:00, not to midnight.
    names = [(r["shift_start"][:16], r["shift"]) for r in by_shift["rows"]]
    assert names == [(f"2026-11-{d}T{t}", n) for d in (16, 17)
                     for t, n in (("06:00", "Morning"), ("14:00", "Afternoon"), ("22:00", "Night"))]
    planned = {r["shift_start"][:16]: r["planned_time"] for r in by_shift["rows"]}
    # The machines were registered today and their earliest records are from the 16th's night:
    # before that they were not in service, so the shifts before it plan no time for them.
    assert planned["2026-11-16T06:00"] == planned["2026-11-16T14:00"] == 0
    assert planned["2026-11-17T22:00"] == 3 * 8 * 3600  # 3 machines, the whole night
    assert doc["header"]["start"] == "2026-11-16T06:00:00+01:00" and doc["header"]["end"] == "2026-11-18T06:00:00+01:00"
    assert not any("partial" in n for _, n in names)
    good = {(r["shift_start"][:10], r["shift"]): r["good"] for r in by_shift["rows"]}
    assert good[("2026-11-16", "Night")] == 2350 and good[("2026-11-17", "Morning")] == 700
    assert by_shift["totals"]["good"] == 3050 == section(doc, "shift_machines")["totals"]["good"]


def test_operator_report_counts_each_machine_shift_once(api_client, seeded: Plant) -> None:
    doc = get_report(api_client, seeded, "operators", **NIGHT).json()
    table = section(doc, "by_operator")
    rows = {r["operator"]: r for r in table["rows"]}
    # The lathe ran 800 parts for Łukasz and 400 for Ünal: it counts for Łukasz, who booked most.
    assert rows["Łukasz Żółć"]["good"] == 800 + 1200 and rows["Ünal Yılmaz"]["good"] == 350
    assert table["totals"]["good"] == sum(r["good"] for r in table["rows"]) == 2350
    assert "booked most" in table["note"]
    chart = section(doc, "good_by_operator")
    assert dict(zip(chart["categories"], chart["values"])) == {"Łukasz Żółć": 2000, "Ünal Yılmaz": 350}


def test_rejection_and_downtime_reasons(api_client, seeded: Plant) -> None:
    rejections = section(get_report(api_client, seeded, "rejections", **NIGHT).json(), "rejections_by_reason")
    assert [(r["reason"], r["category"], r["rejects"]) for r in rejections["rows"]] == [
        ("Out of tolerance", "Process defects", 12), ("Surface defect", "Process defects", 5)]
    assert rejections["totals"]["rejects"] == 17
    doc = get_report(api_client, seeded, "downtime", **NIGHT).json()
    downtime = section(doc, "downtime_by_reason")
    # The losses reconcile with the Downtime figure; planned stops are listed apart, not in the Pareto.
    assert [(r["reason"], r["category"], r["stops"], r["duration"]) for r in downtime["rows"]] == [
        ("Electrical or control failure", "Equipment failure", 1, 3600.0)]
    assert downtime["totals"]["duration"] == tiles(doc)["downtime"] == 3600.0
    pareto = section(doc, "downtime_pareto")
    assert pareto["categories"] == ["Electrical or control failure"] and pareto["values"] == [3600.0]
    apart = section(doc, "not_downtime")
    assert [(r["reason"], r["stops"], r["duration"]) for r in apart["rows"]] == [("Planned maintenance", 1, 1200.0)]
    assert "The Downtime figure (1:00:00)" in apart["note"] and "differs" not in apart["note"]


def test_raw_entries_stream_in_json_unless_left_out(api_client, seeded: Plant) -> None:
    raw = get_report(api_client, seeded, "machines", **NIGHT).json()["raw"]
    assert raw["count"] == len(raw["rows"]) == 8  # 4 entries, 2 rejections, 2 downtime events
    events = sorted((r["machine"], r["event"], r["good"], r["rejects"]) for r in raw["rows"])
    assert ("Tokarka", "Production", 400, 0) in events and ("Fräse Ω-5", "Planned stop", None, None) in events
    assert {r["operator"] for r in raw["rows"] if r["event"] == "Rejection"} == {"Łukasz Żółć", "Ünal Yılmaz"}
    assert get_report(api_client, seeded, "machines", raw="false", **NIGHT).json()["raw"] is None


EXPECTED_TEXT = {
    "shifts": ["Shift report: Night Mon 2026-11-16", "Machines per shift", "Łukasz Żółć", "Prasa hydrauliczna", "2,350"],
    "machines": ["Production by machine: Night", "Fräse Ω-5", "2,350", "Downtime by reason (Pareto)"],
    "operators": ["Production by operator", "Ünal Yılmaz", "2,000", "Good parts by operator"],
    "rejections": ["Rejections by reason", "Out of tolerance", "Process defects"],
    "downtime": ["Downtime by reason", "Electrical or control failure", "1:00:00", "0:20:00",
                 "Not downtime (planned, no data)"],
    "production": ["OEE summary", "OEE by machine", "Production by line", "Montaż", "Tokarka"],
}


@pytest.mark.parametrize("topic", list(EXPECTED_TEXT))
def test_pdf_reads_back_with_names_and_totals(api_client, seeded: Plant, topic: str) -> None:
    r = get_report(api_client, seeded, topic, "pdf", **NIGHT)
    assert r.headers["content-type"] == "application/pdf"
    assert SAFE_NAME.match(r.headers["content-disposition"])
    assert int(r.headers["content-length"]) == len(r.content)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages]
    text = "\n".join(pages)
    for expected in EXPECTED_TEXT[topic] + ["Łódź Hala 2", COMPANY, "2026-11-16 22:00 – 2026-11-17 06:00"]:
        assert expected in text, (expected, text[:400])
    assert f"Page 1 of {len(pages)}" in pages[0]


def test_xlsx_reads_back_with_sheets_formats_formulas_and_charts(api_client, seeded: Plant) -> None:
    r = get_report(api_client, seeded, "shifts", "xlsx", **NIGHT)
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert SAFE_NAME.match(r.headers["content-disposition"])
    wb = load_workbook(io.BytesIO(r.content))
    # One shift: the report a supervisor signs (tests/reports/test_shift_signoff.py).
    assert wb.sheetnames == ["Summary", "Machines per shift", "Good parts per hour", "Production per hour",
                             "OEE by machine", "Stops in this shift", "Top stop reasons", "Downtime by reason (Pareto)",
                             "Not downtime (planned, no data)", "Stops waiting for a reason", "Rejections by reason",
                             "Rejections by machine", "Operator comments", "Handover notes",
                             "Compared with other shifts", "Sign-off", "Raw entries"]
    ws = wb["Machines per shift"]
    col = {c.value: c.column_letter for c in ws[1]}
    assert col["Shift start (Europe/Warsaw)"] == "A" and ws.freeze_panes
    last, total = ws.max_row - 1, ws.max_row
    assert ws[f"A{total}"].value == "Total"
    good = col["Good"]
    assert ws[f"{good}{total}"].value == f"=SUM({good}2:{good}{last})"
    assert sorted(ws[f"{good}{i}"].value for i in range(2, total)) == [350, 800, 1200]
    assert ws[f"{good}2"].number_format == "#,##0"
    run, planned = col["Run time"], col["Planned time"]
    assert ws[f"{col['Avail.']}2"].value == f'=IFERROR({run}2/{planned}2,"n/a")'
    assert ws[f"{run}2"].number_format == "[h]:mm:ss"
    assert {ws[f"{col['Operator']}{i}"].value for i in range(2, total)} == {"Łukasz Żółć", "Ünal Yılmaz"}
    (table,) = ws.tables.values()
    assert table.autoFilter is not None
    for name in ("OEE by machine", "Downtime by reason (Pareto)", "Rejections by reason"):
        (chart,) = wb[name]._charts
        assert isinstance(chart, BarChart)
    summary = {row[0].value: row[1].value for row in wb["Summary"].iter_rows(min_row=3) if row[0].value}
    assert summary["Good"] == 2350 and summary["Company"].startswith(COMPANY)
    raw = wb["Raw entries"]
    assert raw.max_row == 1 + 8
    assert {c.value for c in raw["G"][1:]} == {"Production", "Rejection", "Downtime", "Planned stop"}


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"format": "docx", **NIGHT}, "report_format_unsupported", "format"),
    ({"site_id": None, **NIGHT}, "scope_required", "site_id"),
    ({"shift": "Night"}, "shift_needs_date", "date"),
    ({}, "period_required", "from"),
    ({"from": "2026-11-16"}, "period_required", "to"),
    ({"from": "2026-11-16", "to": "2026-11-17", "date": "2026-11-16"}, "period_ambiguous", "date"),
    ({"from": "next tuesday", "to": "2026-11-17"}, "invalid_datetime", "from"),
    ({"from": "2026-11-17", "to": "2026-11-10"}, "invalid_range", "to"),
    ({"from": "2026-01-01", "to": "2026-11-17"}, "range_too_long", "to"),
    ({"date": "2026-13-01"}, "validation_failed", "date"),
    ({"date": "2027-02-01"}, "period_in_future", "date"),
    ({"date": NIGHT_DATE, "shift": "Nite"}, "shift_not_found", "shift"),
    ({"date": NIGHT_DATE, "pages": "9"}, "validation_failed", "pages"),
])
def test_bad_input_is_a_problem_naming_the_field(api_client, seeded: Plant, params, code, field) -> None:
    query = {"site_id": seeded.site["id"], "format": "pdf", **params}
    r = api_client.get("/api/v1/reports/machines", params={k: v for k, v in query.items() if v is not None},
                       headers=seeded.supervisor.headers)
    body = plant.problem(r, 422, code, field)
    if code == "shift_not_found":
        assert "Morning, Afternoon, Night" in body["detail"]


def test_scope_is_the_callers_company_and_one_site(api_client, seeded: Plant) -> None:
    stranger = new_company(api_client)
    r = api_client.get("/api/v1/reports/machines", params={"site_id": seeded.site["id"], **NIGHT},
                       headers=stranger.headers)
    plant.problem(r, 422, "site_not_found", "site_id")
    other = plant.site(api_client, seeded.owner)
    r = api_client.get("/api/v1/reports/machines", params={"site_id": other["id"], "line_id": seeded.line["id"],
                                                           **NIGHT}, headers=seeded.supervisor.headers)
    plant.problem(r, 422, "line_other_site", "line_id")


def test_operators_may_not_export_and_anonymous_callers_are_refused(api_client, seeded: Plant) -> None:
    r = api_client.get("/api/v1/reports/shifts", params={"site_id": seeded.site["id"], **NIGHT},
                       headers=seeded.operators[0].headers)
    plant.problem(r, 403, "permission_denied")
    r = api_client.get("/api/v1/reports/shifts", params={"site_id": seeded.site["id"], **NIGHT})
    assert r.status_code == 401


def _exports(http: httpx.Client, p: Plant) -> list[dict[str, Any]]:
    r = http.get("/api/v1/audit", params={"action": "export", "entity": "report", "limit": 500},
                 headers=p.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_each_export_writes_one_audit_row_and_a_refused_one_none(api_client, seeded: Plant) -> None:
    manager = join(api_client, seeded.owner, "plant_manager")
    before = len(_exports(api_client, seeded))
    get_report(api_client, seeded, "downtime", "xlsx", who=manager, **NIGHT)
    r = api_client.get("/api/v1/reports/downtime", params={"site_id": seeded.site["id"], "date": "2027-02-01"},
                       headers=manager.headers)
    assert r.status_code == 422
    rows = _exports(api_client, seeded)
    assert len(rows) == before + 1
    (row,) = [e for e in rows if e["actor_id"] == manager.user_id]
    assert row["entity_id"] == "downtime"
    assert row["after"]["format"] == "xlsx" and row["after"]["site_id"] == seeded.site["id"]
    assert row["after"]["start"] == "2026-11-16T21:00:00+00:00" and row["after"]["raw_rows"] == 8
    assert row["after"]["bytes"] > 0 and row["request_id"]


def test_file_names_never_carry_what_users_typed(api_client, seeded: Plant) -> None:
    odd = plant.site(api_client, seeded.owner, code="a..b", timezone="Europe/Warsaw")
    plant.shift(api_client, seeded.owner, odd["id"], "../../etc/passwd Nacht", "22:00", "06:00")
    r = api_client.get("/api/v1/reports/shifts", params={"site_id": odd["id"], "date": NIGHT_DATE,
                                                         "shift": "../../etc/passwd nacht"},
                       headers=seeded.supervisor.headers)
    assert r.status_code == 200, r.text
    disposition = r.headers["content-disposition"]
    assert SAFE_NAME.match(disposition)
    assert disposition == 'attachment; filename="shifts-a-b-2026-11-16-etc-passwd-Nacht.pdf"'
