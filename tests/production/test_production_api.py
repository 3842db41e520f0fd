"""Plans, production entries and rejections over HTTP: the rules that keep figures honest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, record_counts
from tests.accounts import Session, join, new_company
from tests.production import plant
from tests.production.plant import problem

DAY = "2026-09-01"  # a Tuesday; Berlin is UTC+2, so Early 06:00–14:00 is 04:00Z–12:00Z


@dataclass
class Floor:
    owner: Session
    operator: Session
    site: dict
    machine: dict
    early: dict
    late: dict

    def ref(self, **over) -> dict:
        return {"machine_id": self.machine["id"], "shift_id": self.early["id"], "shift_date": DAY} | over


@pytest.fixture(scope="module")
def floor(api: httpx.Client) -> Floor:
    owner = new_company(api)
    operator = join(api, owner, "operator")
    s = plant.site(api, owner)
    m = plant.machine(api, owner, s["id"], cycle=30)  # 120 per hour
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00", [("10:00", "10:30")])
    late = plant.shift(api, owner, s["id"], "Late", "14:00", "22:00")
    for who in (owner, operator):
        plant.operator(api, owner, s["id"], who.user_id)
    return Floor(owner, operator, s, m, early, late)


def test_plans_one_per_machine_and_shift(api: httpx.Client, floor: Floor) -> None:
    h = floor.owner.headers
    r = api.post("/api/v1/production/plan", json=floor.ref(target_quantity=800, job_ref="JOB-1",
                                                            operator_ids=[floor.operator.user_id]), headers=h)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["operator_ids"] == [floor.operator.user_id]
    body = problem(api.post("/api/v1/production/plan", json=floor.ref(target_quantity=10), headers=h),
                   409, "machine_already_planned", "machine_id")
    assert body["conflicting_id"] == plan["id"]
    # The Late shift has 8 h without breaks: at 120/h at most 960.
    body = problem(api.post("/api/v1/production/plan", json=floor.ref(shift_id=floor.late["id"], target_quantity=961),
                            headers=h), 422, "quantity_exceeds_ideal_rate", "target_quantity")
    assert body["max_quantity"] == 960 and "120 per hour" in body["detail"]
    problem(api.post("/api/v1/production/plan", json=floor.ref(shift_id=floor.late["id"], target_quantity=-1), headers=h),
            422, "validation_failed", "target_quantity")
    problem(api.post("/api/v1/production/plan", json={"machine_id": floor.machine["id"], "target_quantity": 5}, headers=h),
            422, "shift_required", "shift_instance_id")
    problem(api.post("/api/v1/production/plan", json=floor.ref(shift_date=None, target_quantity=5), headers=h),
            422, "shift_ref_incomplete", "shift_date")
    stranger = new_company(api)
    problem(api.post("/api/v1/production/plan", json=floor.ref(shift_id=floor.late["id"], target_quantity=5,
                                                               operator_ids=[stranger.user_id]), headers=h),
            422, "not_a_site_operator", "operator_ids")
    problem(api.post("/api/v1/production/plan", json=floor.ref(target_quantity=5), headers=floor.operator.headers),
            403, "permission_denied")
    r = api.patch(f"/api/v1/production/plan/{plan['id']}", json={"target_quantity": 850, "job_ref": None}, headers=h)
    assert r.status_code == 200 and (r.json()["target_quantity"], r.json()["job_ref"]) == (850, None)
    problem(api.patch(f"/api/v1/production/plan/{plan['id']}", json={"target_quantity": 10_000}, headers=h),
            422, "quantity_exceeds_ideal_rate", "target_quantity")
    assert api.get(f"/api/v1/production/plan/{plan['id']}", headers=h).json()["target_quantity"] == 850
    listed = api.get("/api/v1/production/plan", params={"site_id": floor.site["id"]}, headers=h).json()["items"]
    assert [p["id"] for p in listed] == [plan["id"]]
    assert api.delete(f"/api/v1/production/plan/{plan['id']}", headers=h).status_code == 204


def test_entries_stay_inside_their_shift_and_within_the_ideal_rate(api: httpx.Client, floor: Floor) -> None:
    h = floor.operator.headers
    entry = lambda **kw: api.post("/api/v1/production/entry", json=floor.ref(**kw), headers=h)  # noqa: E731
    problem(entry(good_quantity=10, started_at=f"{DAY}T03:59:00Z", ended_at=f"{DAY}T05:00:00Z"),
            422, "entry_outside_shift", "started_at")
    problem(entry(good_quantity=10, started_at=f"{DAY}T11:00:00Z", ended_at=f"{DAY}T12:00:01Z"),
            422, "entry_outside_shift", "ended_at")
    problem(entry(good_quantity=-5), 422, "validation_failed", "good_quantity")
    problem(entry(good_quantity=10, started_at=f"{DAY}T05:00:00Z", ended_at=f"{DAY}T05:00:00Z"),
            422, "invalid_period", "ended_at")
    # One hour at 120/h: 121 is impossible, and the message says why.
    body = problem(entry(good_quantity=121, started_at=f"{DAY}T04:00:00Z", ended_at=f"{DAY}T05:00:00Z"),
                   422, "quantity_exceeds_ideal_rate", "good_quantity")
    assert "1 h 00 min" in body["detail"] and "at most 120" in body["detail"]
    problem(entry(good_quantity=5, rework_quantity=6, started_at=f"{DAY}T04:00:00Z", ended_at=f"{DAY}T05:00:00Z"),
            422, "invalid_count", "rework_quantity")
    problem(entry(good_quantity=5, started_at="2026-09-01T04:00:00", ended_at=f"{DAY}T05:00:00Z"),
            422, "validation_failed", "started_at")  # naive timestamps are refused

    first = entry(good_quantity=100, started_at=f"{DAY}T04:00:00Z", ended_at=f"{DAY}T05:00:00Z")
    assert first.status_code == 201, first.text
    assert first.json()["operator_id"] == floor.operator.user_id
    # Without a start, the next entry continues where the previous one ended; without an end, the shift's end.
    second = entry(good_quantity=300)
    assert second.status_code == 201, second.text
    assert (second.json()["started_at"], second.json()["ended_at"]) == (f"{DAY}T05:00:00Z", f"{DAY}T12:00:00Z")
    body = problem(entry(good_quantity=1, started_at=f"{DAY}T04:30:00Z", ended_at=f"{DAY}T04:45:00Z"),
                   409, "entry_overlap", "started_at")
    assert body["conflicting_id"] == first.json()["id"]
    listed = api.get("/api/v1/production/entry", params={"machine_id": floor.machine["id"]}, headers=h).json()
    assert [e["good_quantity"] for e in listed["items"]] == [100, 300]
    assert api.get(f"/api/v1/production/entry/{first.json()['id']}", headers=h).json()["good_quantity"] == 100
    assert api.delete(f"/api/v1/production/entry/{second.json()['id']}", headers=h).status_code == 204

    problem(entry(good_quantity=1, started_at="2030-01-01T05:00:00Z", shift_date="2030-01-01",
                  ended_at="2030-01-01T06:00:00Z"), 422, "entry_in_future", "ended_at")
    outsider = join(api, floor.owner, "operator")  # a member, but not working at this site
    problem(api.post("/api/v1/production/entry", json=floor.ref(good_quantity=1, started_at=f"{DAY}T06:00:00Z",
                                                                ended_at=f"{DAY}T06:10:00Z"), headers=outsider.headers),
            422, "not_a_site_operator", "operator_id")


def test_entries_do_not_double_count_what_the_machine_counted(api, floor: Floor, app_engine) -> None:
    other = plant.machine(api, floor.owner, floor.site["id"], cycle=10)
    with tenant_transaction(app_engine, uuid.UUID(floor.owner.tenant_id)) as conn:
        record_counts(conn, uuid.UUID(floor.owner.tenant_id),
                      [CountRow(other["id"], datetime.fromisoformat(f"{DAY}T09:30:00+00:00"), 40, 0, "k1")])
    body = problem(api.post("/api/v1/production/entry",
                            json=floor.ref(machine_id=other["id"], good_quantity=10, started_at=f"{DAY}T09:00:00Z",
                                           ended_at=f"{DAY}T10:00:00Z"), headers=floor.owner.headers),
                   409, "entry_overlaps_machine_counts", "started_at")
    assert "count them twice" in body["detail"]


def test_a_retried_entry_is_stored_once(api: httpx.Client, floor: Floor, superuser_engine) -> None:
    m = plant.machine(api, floor.owner, floor.site["id"])
    h = floor.operator.headers | {"Idempotency-Key": "terminal-7:entry:0001"}
    body = floor.ref(machine_id=m["id"], good_quantity=42, started_at=f"{DAY}T04:00:00Z", ended_at=f"{DAY}T05:00:00Z")
    first = api.post("/api/v1/production/entry", json=body, headers=h)
    again = api.post("/api/v1/production/entry", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    problem(api.post("/api/v1/production/entry", json=body | {"good_quantity": 43}, headers=h),
            422, "idempotency_key_reused", "Idempotency-Key")
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select count(*) from production_entries where machine_id = :m"), {"m": m["id"]})
        audited = conn.execute(text("select count(*) from audit_log where entity_id = :e"), {"e": first.json()["id"]})
        assert (stored.scalar(), audited.scalar()) == (1, 1)


def test_rejections_need_a_quality_reason_inside_the_shift(api: httpx.Client, floor: Floor) -> None:
    h = floor.operator.headers
    reasons = api.get("/api/v1/downtime/reasons", params={"loss_bucket": "quality", "level": "reason"},
                      headers=h).json()["items"]
    scrap = next(r for r in reasons if r["code"] == "DEFECT.DIMENSION")
    failure = api.get("/api/v1/downtime/reasons", params={"q": "BREAKDOWN.TOOLING"}, headers=h).json()["items"][0]
    make = lambda **kw: api.post("/api/v1/rejections", json=floor.ref(**kw), headers=h)  # noqa: E731
    r = make(quantity=7, reason_id=scrap["id"], occurred_at=f"{DAY}T08:00:00Z", note="burr")
    assert r.status_code == 201, r.text
    rejection = r.json()
    past_default = make(quantity=1, reason_id=scrap["id"])  # a past shift: booked at its last instant
    assert past_default.json()["occurred_at"] == f"{DAY}T11:59:59.999999Z"
    problem(make(quantity=3, reason_id=failure["id"]), 422, "reason_wrong_bucket", "reason_id")
    problem(make(quantity=0, reason_id=scrap["id"]), 422, "validation_failed", "quantity")
    problem(make(quantity=961, reason_id=scrap["id"]), 422, "quantity_exceeds_ideal_rate", "quantity")
    problem(make(quantity=2, reason_id=scrap["id"], occurred_at=f"{DAY}T12:00:00Z"), 422, "rejection_outside_shift",
            "occurred_at")
    listed = api.get("/api/v1/rejections", params={"machine_id": floor.machine["id"], "q": "burr"}, headers=h).json()
    assert [x["id"] for x in listed["items"]] == [rejection["id"]]
    assert api.get(f"/api/v1/rejections/{rejection['id']}", headers=h).json()["quantity"] == 7
    assert api.delete(f"/api/v1/rejections/{rejection['id']}", headers=h).status_code == 204
    problem(api.get(f"/api/v1/rejections/{rejection['id']}", headers=h), 404, "rejection_not_found")


def test_retired_machines_take_no_new_records(api: httpx.Client, floor: Floor) -> None:
    m = plant.machine(api, floor.owner, floor.site["id"], status="retired")
    problem(api.post("/api/v1/production/entry", json=floor.ref(machine_id=m["id"], good_quantity=1), headers=floor.owner.headers),
            422, "machine_retired", "machine_id")
