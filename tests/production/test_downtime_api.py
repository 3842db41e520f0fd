"""Downtime over HTTP: the reason tree, manual events, machine-detected stops and overlaps."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import record_state_change
from tests.accounts import Session, join, new_company
from tests.production import plant
from tests.production.plant import problem


@pytest.fixture(scope="module")
def owner(api: httpx.Client) -> Session:
    return new_company(api)


def reasons(api, who, **params) -> list[dict]:
    r = api.get("/api/v1/downtime/reasons", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def by_code(api, who, code: str) -> dict:
    return next(r for r in reasons(api, who) if r["code"] == code)


def test_default_tree_is_the_six_big_losses_plus_planned_stops(api: httpx.Client, owner: Session) -> None:
    categories = {r["code"]: (r["loss_bucket"], r["planned"]) for r in reasons(api, owner, level="category")}
    assert categories == {
        "PLANNED": ("availability", True), "BREAKDOWN": ("availability", False), "SETUP": ("availability", False),
        "MINOR_STOP": ("performance", False), "REDUCED_SPEED": ("performance", False),
        "DEFECT": ("quality", False), "STARTUP": ("quality", False),
    }
    hydraulic = by_code(api, owner, "BREAKDOWN.MECHANICAL.HYDRAULIC")
    mechanical = by_code(api, owner, "BREAKDOWN.MECHANICAL")
    assert (hydraulic["level"], hydraulic["parent_id"], hydraulic["loss_bucket"]) == ("sub_reason", mechanical["id"],
                                                                                      "availability")
    assert len(reasons(api, owner)) == len(reasons(api, owner))  # seeding happens once


def test_custom_reasons(api: httpx.Client, owner: Session) -> None:
    h = owner.headers
    r = api.post("/api/v1/downtime/reasons", json={"name": "Utilities", "loss_bucket": "availability",
                                                   "planned": False}, headers=h)
    assert r.status_code == 201 and r.json()["code"] == "UTILITIES" and r.json()["level"] == "category"
    child = api.post("/api/v1/downtime/reasons", json={"parent_id": r.json()["id"], "name": "Compressed air"},
                     headers=h).json()
    assert (child["code"], child["level"], child["loss_bucket"]) == ("UTILITIES.COMPRESSED_AIR", "reason", "availability")
    grandchild = api.post("/api/v1/downtime/reasons", json={"parent_id": child["id"], "name": "Leak"}, headers=h).json()
    problem(api.post("/api/v1/downtime/reasons", json={"parent_id": grandchild["id"], "name": "Too deep"}, headers=h),
            422, "reason_too_deep", "parent_id")
    problem(api.post("/api/v1/downtime/reasons", json={"name": "No tags"}, headers=h), 422, "reason_tags_required",
            "loss_bucket")
    problem(api.post("/api/v1/downtime/reasons", json={"name": "Utilities", "loss_bucket": "quality", "planned": False},
                     headers=h), 409, "reason_code_taken", "code")
    r = api.patch(f"/api/v1/downtime/reasons/{child['id']}", json={"active": False}, headers=h)
    assert r.status_code == 200 and r.json()["active"] is False


def test_manual_downtime_rules(api: httpx.Client, owner: Session) -> None:
    h = owner.headers
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"])
    maintenance = by_code(api, owner, "PLANNED.MAINTENANCE")
    jam = by_code(api, owner, "MINOR_STOP.JAM")
    scrap = by_code(api, owner, "DEFECT.SURFACE")
    post = lambda **kw: api.post("/api/v1/downtime", json={"machine_id": m["id"]} | kw, headers=h)  # noqa: E731

    r = post(started_at="2026-09-02T08:00:00Z", ended_at="2026-09-02T09:00:00Z", reason_id=maintenance["id"])
    assert r.status_code == 201, r.text
    planned = r.json()
    assert (planned["planned"], planned["needs_reason"], planned["source"], planned["duration_seconds"]) == (
        True, False, "manual", 3600)
    body = problem(post(started_at="2026-09-02T08:30:00Z", ended_at="2026-09-02T10:00:00Z", planned=False),
                   409, "downtime_overlap", "started_at")
    assert body["conflicting_id"] == planned["id"]
    problem(post(started_at="2026-09-02T10:00:00Z", ended_at="2026-09-02T09:00:00Z", planned=False),
            422, "invalid_period", "ended_at")
    problem(post(started_at="2026-09-02T10:00:00Z", ended_at="2026-09-02T11:00:00Z"), 422, "planned_required", "planned")
    problem(post(started_at="2026-09-02T10:00:00Z", reason_id=jam["id"], planned=True), 422, "planned_mismatch", "planned")
    problem(post(started_at="2026-09-02T10:00:00Z", reason_id=scrap["id"]), 422, "reason_wrong_bucket", "reason_id")
    problem(post(started_at="2099-01-01T00:00:00Z", planned=False), 422, "starts_in_future", "started_at")

    # An open event (the machine is still down), then closed, then given a reason.
    r = post(started_at="2026-09-02T09:00:00Z", planned=False, note="smoke from the drive")
    assert r.status_code == 201 and r.json()["ended_at"] is None and r.json()["needs_reason"] is True
    open_id = r.json()["id"]
    problem(post(started_at="2026-09-03T00:00:00Z", planned=False), 409, "downtime_overlap")  # open runs on
    r = api.patch(f"/api/v1/downtime/{open_id}", json={"ended_at": "2026-09-02T09:45:00Z"}, headers=h)
    assert r.status_code == 200 and r.json()["duration_seconds"] == 45 * 60
    problem(api.patch(f"/api/v1/downtime/{open_id}", json={"ended_at": "2026-09-02T08:59:00Z"}, headers=h),
            422, "invalid_period", "ended_at")
    drive = by_code(api, owner, "BREAKDOWN.MECHANICAL.DRIVE")
    r = api.post(f"/api/v1/downtime/{open_id}/reason", json={"reason_id": drive["id"]}, headers=h)
    assert r.status_code == 200 and (r.json()["reason_id"], r.json()["needs_reason"], r.json()["planned"]) == (
        drive["id"], False, False)
    listed = api.get("/api/v1/downtime", params={"machine_id": m["id"], "q": "smoke"}, headers=h).json()["items"]
    assert [e["id"] for e in listed] == [open_id]
    assert api.get(f"/api/v1/downtime/{open_id}", headers=h).json()["note"] == "smoke from the drive"


def test_machine_detected_stops_wait_for_an_operator(api: httpx.Client, owner: Session, app_engine) -> None:
    s = plant.site(api, owner, micro_stop_seconds=120)
    m = plant.machine(api, owner, s["id"])
    operator = join(api, owner, "operator")
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        # A 15-minute stop (waits for a reason) and a one-minute micro-stop (does not).
        for state, code, at in (("running", 1, "08:00"), ("unplanned_stop", 9, "08:10"), ("running", 1, "08:25"),
                                ("unplanned_stop", 9, "08:40"), ("running", 1, "08:41")):
            record_state_change(conn, tenant, m["id"], state, code, datetime.fromisoformat(f"2026-09-02T{at}:00+00:00"))
    pending = api.get("/api/v1/downtime", params={"machine_id": m["id"], "needs_reason": True},
                      headers=operator.headers).json()["items"]
    assert [(e["started_at"], e["ended_at"], e["source"]) for e in pending] == [
        ("2026-09-02T08:10:00Z", "2026-09-02T08:25:00Z", "machine")]
    problem(api.post("/api/v1/downtime", json={"machine_id": m["id"], "started_at": "2026-09-02T08:20:00Z",
                                               "ended_at": "2026-09-02T08:40:00Z", "planned": False},
                     headers=operator.headers), 409, "downtime_overlap", "started_at")
    body = problem(api.post("/api/v1/downtime", json={"machine_id": m["id"], "started_at": "2026-09-02T08:35:00Z",
                                                      "ended_at": "2026-09-02T08:45:00Z", "planned": False},
                            headers=operator.headers), 409, "downtime_overlaps_machine_stop", "started_at")
    assert "give its downtime event a reason" in body["detail"]
    problem(api.patch(f"/api/v1/downtime/{pending[0]['id']}", json={"ended_at": "2026-09-02T08:30:00Z"},
                      headers=operator.headers), 422, "machine_event_times", "ended_at")
    jam = by_code(api, owner, "MINOR_STOP.JAM")
    r = api.post(f"/api/v1/downtime/{pending[0]['id']}/reason", json={"reason_id": jam["id"], "note": "chute"},
                 headers=operator.headers)
    assert r.status_code == 200 and r.json()["needs_reason"] is False
    assert api.get("/api/v1/downtime", params={"machine_id": m["id"], "needs_reason": True},
                   headers=operator.headers).json()["items"] == []
