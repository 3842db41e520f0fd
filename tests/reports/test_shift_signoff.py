"""Shift reports a supervisor signs (issue 21), against the real server and database: handover
notes, e-signatures with the password asked again, "changed since signed", and the one-shift
report's sections agreeing with `/api/v1/kpis/oee`.

The plant is seeded for this module alone: a test here adds a late rejection, which must not
change the figures the other report tests assert on.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from tests.accounts import join, new_company
from tests.production import plant as plant_api
from tests.reports.seed import MORNING_DATE, NIGHT_DATE, NIGHT_GOOD, Plant, seed_plant
from tests.reports.test_api_reports import section, tiles

BASE = "/api/v1/shift-handover"


@pytest.fixture(scope="module")
def p(api_client: httpx.Client) -> Plant:
    return seed_plant(api_client)


def _shift_report(http: httpx.Client, p: Plant, day: str, shift: str, fmt: str = "json", **extra: Any) -> Any:
    params = {"format": fmt, "site_id": p.site["id"], "date": day, "shift": shift, **extra}
    r = http.get("/api/v1/reports/shifts", params={k: v for k, v in params.items() if v is not None},
                 headers=p.supervisor.headers)
    assert r.status_code == 200, r.text
    return r.json() if fmt == "json" else r.content


def _kpis(http: httpx.Client, p: Plant, instance: str) -> dict[str, Any]:
    r = http.get("/api/v1/kpis/oee", params={"scope": "site", "id": p.site["id"], "shift_instance_id": instance},
                 headers=p.owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_one_shift_report_sections_agree_with_the_kpi_endpoint(api_client: httpx.Client, p: Plant) -> None:
    doc = _shift_report(api_client, p, "2026-11-17", "Morning")
    ref = _kpis(api_client, p, p.instances["morning"])["totals"]
    hourly = section(doc, "hourly")
    assert len(hourly["rows"]) == 8 and hourly["rows"][0]["hour"] == "06:00–07:00"
    assert hourly["totals"]["good"] == sum(r["good"] for r in hourly["rows"]) == ref["good_count"] == 700
    assert hourly["rows"][4]["working"] == 1800  # 10:00–11:00 holds the half-hour break
    chart = section(doc, "hourly_chart")
    assert sum(chart["values"]) == ref["good_count"] and chart["target"] is None  # nothing planned
    stops = section(doc, "stop_events")["rows"]
    assert [(r["machine"], r["duration"], r["kind"]) for r in stops] == [("Prasa hydrauliczna", 2700, "Unplanned")]
    top = section(doc, "top_reasons")["rows"]
    assert top[0]["stops"] == 1 and top[0]["duration"] == top[0]["mttr"] == 2700
    rejects = section(doc, "rejections_by_machine")
    assert rejects["totals"]["quantity"] == ref["reject_count"] == tiles(doc)["rejects"] == 20
    assert section(doc, "open_stops")["rows"] == []
    # The Night before is the previous shift: its figures and the differences.
    rows = {r["compared"]: r for r in section(doc, "comparison")["rows"]}
    prev = rows["Previous shift"]
    assert prev["shift"] == "Night" and prev["good"] == sum(NIGHT_GOOD.values())
    night = _kpis(api_client, p, p.instances["night"])["totals"]
    assert prev["scrap"] == night["reject_count"] and prev["d_good"] == 700 - prev["good"]
    assert prev["downtime"] == night["unplanned_stop_seconds"] + night["setup_seconds"]
    assert rows["This shift"]["oee"] == tiles(doc)["oee"]
    assert rows["Same shift last week"]["good"] == 0
    signoff = section(doc, "signoff")
    assert signoff["rows"][0]["signed_by"].startswith("____") and signoff["rows"][0]["signature"].startswith("___")


def test_night_target_per_hour_and_paper_by_time_zone(api_client: httpx.Client, p: Plant) -> None:
    doc = _shift_report(api_client, p, NIGHT_DATE, "Night")
    hourly = section(doc, "hourly")
    # 900 planned over 8 working hours: 112.5 an hour; the hours add up to the plan.
    assert section(doc, "hourly_chart")["target"] == 112
    assert hourly["totals"]["target"] == sum(r["target"] for r in hourly["rows"]) == 900
    assert {r["status"] for r in hourly["rows"]} == {"below target", "on or above target"}
    planned = [r for r in section(doc, "stop_events")["rows"] if r["kind"] == "Planned"]
    assert [(r["machine"], r["duration"]) for r in planned] == [("Fräse Ω-5", 1200)]
    pdf = PdfReader(io.BytesIO(_shift_report(api_client, p, NIGHT_DATE, "Night", fmt="pdf", raw="false")))
    box = pdf.pages[0].mediabox
    assert sorted((round(float(box.width)), round(float(box.height)))) == [595, 842]  # A4 in Warsaw
    text = "\n".join(page.extract_text() for page in pdf.pages)
    for heading in ("Good parts per hour", "Stops in this shift", "Top stop reasons", "Rejections by machine",
                    "Handover notes", "Compared with other shifts", "Sign-off", "Below target"):
        assert heading in text, heading


def test_letter_paper_in_a_us_time_zone_and_by_setting(api_client: httpx.Client, p: Plant) -> None:
    site = plant_api.site(api_client, p.owner, timezone="America/Chicago", name="Joliet")
    plant_api.shift(api_client, p.owner, site["id"], "Day", "06:00", "14:00")
    plant_api.machine(api_client, p.owner, site["id"], cycle=10)
    r = api_client.get("/api/v1/reports/shifts", params={"format": "pdf", "site_id": site["id"],
                                                         "date": "2026-11-17", "shift": "Day"},
                       headers=p.owner.headers)
    assert r.status_code == 200, r.text
    box = PdfReader(io.BytesIO(r.content)).pages[0].mediabox
    assert sorted((round(float(box.width)), round(float(box.height)))) == [612, 792]
    # The site's setting wins over its time zone; null goes back to "by time zone".
    path = f"/api/v1/sites/{p.site['id']}"
    bad = api_client.patch(path, json={"paper_size": "A3"}, headers=p.owner.headers)
    assert bad.status_code == 422 and bad.json()["field"] == "paper_size"
    assert api_client.patch(path, json={"paper_size": "Letter"}, headers=p.owner.headers).json()["paper_size"] == "Letter"
    try:
        pdf = PdfReader(io.BytesIO(_shift_report(api_client, p, NIGHT_DATE, "Night", fmt="pdf", raw="false")))
        box = pdf.pages[0].mediabox
        assert sorted((round(float(box.width)), round(float(box.height)))) == [612, 792]
    finally:
        reset = api_client.patch(path, json={"paper_size": None}, headers=p.owner.headers)
        assert reset.status_code == 200 and reset.json()["paper_size"] is None


def test_handover_notes_are_written_by_the_floor_and_printed(api_client: httpx.Client, p: Plant) -> None:
    operator = p.operators[0]
    night = p.instances["night"]
    r = api_client.post(f"{BASE}/notes", headers=operator.headers,
                        json={"shift_instance_id": night, "body": "  Press 1 leaks oil at the ram; tray placed.  "})
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["body"] == "Press 1 leaks oil at the ram; tray placed." and note["author"] == "Łukasz Żółć"
    api_client.post(f"{BASE}/notes", headers=p.supervisor.headers,
                    json={"shift_instance_id": night, "body": "Maintenance called for Monday."}).raise_for_status()
    # The shift running now at the site (it runs around the clock), stored on first use.
    now = api_client.post(f"{BASE}/notes", headers=operator.headers, json={"site_id": p.site["id"], "body": "Hi"})
    assert now.status_code == 201 and now.json()["shift_instance_id"] != night

    empty = api_client.post(f"{BASE}/notes", headers=operator.headers, json={"shift_instance_id": night, "body": " "})
    assert empty.status_code == 422 and (empty.json()["code"], empty.json()["field"]) == ("note_empty", "body")
    both = api_client.post(f"{BASE}/notes", headers=operator.headers, json={"body": "x"})
    assert both.status_code == 422 and both.json()["code"] == "shift_required"
    reader = join(api_client, p.owner, "read_only")
    assert api_client.get(f"{BASE}/notes", params={"shift_instance_id": night}, headers=reader.headers).status_code == 403

    listed = api_client.get(f"{BASE}/notes", params={"shift_instance_id": night}, headers=operator.headers).json()
    assert [n["body"][:8] for n in listed] == ["Press 1 ", "Maintena"]
    doc = _shift_report(api_client, p, NIGHT_DATE, "Night")
    assert [r["note"][:8] for r in section(doc, "handover_notes")["rows"]] == ["Press 1 ", "Maintena"]
    audit = api_client.get("/api/v1/audit", params={"entity": "shift_handover_note", "limit": 10},
                           headers=p.owner.headers)
    assert audit.status_code == 200 and len(audit.json()["items"]) == 3


def test_signing_asks_the_password_and_shows_a_later_change(api_client: httpx.Client, p: Plant) -> None:
    morning = p.instances["morning"]
    body = {"shift_instance_id": morning, "meaning": "reviewed", "reason": "End of shift review"}
    denied = api_client.post(f"{BASE}/signoffs", headers=p.operators[0].headers, json={**body, "password": "x"})
    assert denied.status_code == 403  # operators hold no production.plan
    wrong = api_client.post(f"{BASE}/signoffs", headers=p.supervisor.headers, json={**body, "password": "wrong"})
    assert wrong.status_code == 403 and (wrong.json()["code"], wrong.json()["field"]) == ("invalid_credentials",
                                                                                         "password")
    assert api_client.get(f"{BASE}/signoffs", params={"shift_instance_id": morning},
                          headers=p.supervisor.headers).json() == []

    # A stop still open, without a reason: it grows with the clock, and must not void the signature.
    open_stop = api_client.post("/api/v1/downtime", headers=p.owner.headers, json={
        "machine_id": p.machines["mill"]["id"], "started_at": "2026-11-17T12:30:00Z", "planned": False})
    assert open_stop.status_code == 201, open_stop.text
    r = api_client.post(f"{BASE}/signoffs", headers=p.supervisor.headers,
                        json={**body, "password": p.supervisor.password})
    assert r.status_code == 201, r.text
    signed = r.json()
    doc = _shift_report(api_client, p, MORNING_DATE, "Morning")
    assert [x["machine"] for x in section(doc, "open_stops")["rows"]] == ["Fräse Ω-5"]
    still = [x for x in section(doc, "stop_events")["rows"] if x["machine"] == "Fräse Ω-5"]
    assert [(x["duration"], x["state"], x["reason"]) for x in still] == [
        (1800, "went on after the shift", "No reason given")]
    assert signed["meaning"] == "reviewed" and len(signed["content_hash"]) == 64
    listed = api_client.get(f"{BASE}/signoffs", params={"shift_instance_id": morning},
                            headers=p.supervisor.headers).json()
    assert [s["changed_since_signed"] for s in listed] == [False]
    row = section(_shift_report(api_client, p, MORNING_DATE, "Morning"), "signoff")["rows"][0]
    assert (row["signed_by"], row["meaning"], row["figures"]) == ("Sam Staff", "reviewed", "as signed")
    # A line's report shows the site's signature, compared with the site's figures.
    line_doc = _shift_report(api_client, p, MORNING_DATE, "Morning", site_id=None, line_id=p.line["id"])
    assert section(line_doc, "signoff")["rows"][0]["figures"] == "as signed"
    # A note after signing is not a change to the figures; a late rejection is.
    api_client.post(f"{BASE}/notes", headers=p.supervisor.headers,
                    json={"shift_instance_id": morning, "body": "Signed."}).raise_for_status()
    assert api_client.get(f"{BASE}/signoffs", params={"shift_instance_id": morning},
                          headers=p.supervisor.headers).json()[0]["changed_since_signed"] is False
    late = api_client.post("/api/v1/rejections", headers=p.owner.headers, json={
        "machine_id": p.machines["press"]["id"], "shift_id": p.shifts["Morning"]["id"], "shift_date": MORNING_DATE,
        "quantity": 3, "reason_id": p.reasons["DEFECT.SURFACE"], "operator_id": p.operators[1].user_id,
        "occurred_at": "2026-11-17T12:00:00Z"})
    assert late.status_code == 201, late.text
    assert api_client.get(f"{BASE}/signoffs", params={"shift_instance_id": morning},
                          headers=p.supervisor.headers).json()[0]["changed_since_signed"] is True
    doc = _shift_report(api_client, p, MORNING_DATE, "Morning")
    assert section(doc, "signoff")["rows"][0]["figures"] == "changed since signed"
    audit = api_client.get("/api/v1/audit", params={"entity": "shift_signoff", "limit": 10},
                           headers=p.owner.headers).json()["items"]
    assert [(a["action"], a["after"]["content_hash"]) for a in audit] == [("sign", signed["content_hash"])]


def test_a_running_shift_cannot_be_signed(api_client: httpx.Client, p: Plant) -> None:
    note = api_client.post(f"{BASE}/notes", headers=p.supervisor.headers, json={"site_id": p.site["id"], "body": "x"})
    running = note.json()["shift_instance_id"]
    r = api_client.post(f"{BASE}/signoffs", headers=p.supervisor.headers,
                        json={"shift_instance_id": running, "password": p.supervisor.password})
    assert r.status_code == 409 and r.json()["code"] == "shift_not_ended"


def test_a_running_shift_shows_its_hours_so_far(api_client: httpx.Client) -> None:
    owner = new_company(api_client, timezone="UTC")
    site = plant_api.site(api_client, owner, timezone="UTC")
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0) \
        - timedelta(minutes=30)
    plant_api.shift(api_client, owner, site["id"], "Early", f"{start:%H:%M}", f"{start + timedelta(hours=8):%H:%M}")
    plant_api.machine(api_client, owner, site["id"], cycle=10)
    r = api_client.get("/api/v1/reports/shifts", params={"format": "json", "site_id": site["id"],
                                                         "date": start.date().isoformat(), "shift": "Early"},
                       headers=owner.headers)
    assert r.status_code == 200, r.text
    rows = section(r.json(), "hourly")["rows"]
    assert len(rows) in (3, 4) and rows[-1]["hour"].endswith("(running)") and 0 < rows[-1]["working"] < 3600
    assert section(r.json(), "hourly_chart")["categories"][-1].endswith("*")
