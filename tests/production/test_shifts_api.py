"""Shift patterns over HTTP and their instances: local times resolved to exact UTC windows."""

from __future__ import annotations

from datetime import date, datetime, time

import httpx
import pytest

from factoryos.kpi import ShiftPattern, resolve_shift
from tests.accounts import Session, new_company
from tests.production import plant
from tests.production.plant import problem


@pytest.fixture(scope="module")
def owner(api: httpx.Client) -> Session:
    return new_company(api)


def instances(api, who, site_id, first: str, last: str, **params) -> list[dict]:
    r = api.get("/api/v1/shifts/instances", params={"site_id": site_id, "from": first, "to": last} | params,
                headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_pattern_crud_and_validation(api: httpx.Client, owner: Session) -> None:
    h = owner.headers
    s = plant.site(api, owner)
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00", [("10:00", "10:30")], weekdays=[0, 1, 2, 3, 4])
    assert early["breaks"] == [{"start": "10:00", "end": "10:30"}] and early["weekdays"] == [0, 1, 2, 3, 4]
    problem(api.post("/api/v1/shifts", json={"site_id": s["id"], "name": "Early", "start": "06:00", "end": "14:00"},
                     headers=h), 409, "shift_name_taken", "name")
    problem(api.post("/api/v1/shifts", json={"site_id": s["id"], "name": "Bad", "start": "06:00", "end": "14:00",
                                            "breaks": [{"start": "15:00", "end": "15:30"}]}, headers=h),
            422, "invalid_break", "breaks")
    problem(api.post("/api/v1/shifts", json={"site_id": s["id"], "name": "Bad", "start": "25:00", "end": "14:00"},
                     headers=h), 422, "validation_failed", "start")
    problem(api.post("/api/v1/shifts", json={"site_id": s["id"], "name": "Bad", "start": "06:00", "end": "14:00",
                                            "weekdays": [7]}, headers=h), 422, "validation_failed", "weekdays.0")
    problem(api.patch(f"/api/v1/shifts/{early['id']}", json={"end": "09:00"}, headers=h), 422, "invalid_break", "breaks")
    r = api.patch(f"/api/v1/shifts/{early['id']}", json={"end": "14:30", "active": False}, headers=h)
    assert r.status_code == 200 and r.json()["end"] == "14:30" and r.json()["active"] is False
    assert api.get(f"/api/v1/shifts/{early['id']}", headers=h).json()["name"] == "Early"
    listed = api.get("/api/v1/shifts", params={"site_id": s["id"], "active": "false"}, headers=h).json()["items"]
    assert [p["id"] for p in listed] == [early["id"]]
    assert api.delete(f"/api/v1/shifts/{early['id']}", headers=h).status_code == 204


def test_night_shift_belongs_to_its_start_date_and_dst_nights_are_exact(api: httpx.Client, owner: Session) -> None:
    s = plant.site(api, owner, timezone="Europe/Berlin")
    night = plant.shift(api, owner, s["id"], "Night", "22:00", "06:00", [("02:00", "02:30")])
    got = instances(api, owner, s["id"], "2026-03-27", "2026-03-28")
    assert [i["local_date"] for i in got] == ["2026-03-27", "2026-03-28"]
    # Friday 27 March 22:00 CET = 21:00 UTC, ends Saturday 06:00 CET = 05:00 UTC: 8 h.
    assert (got[0]["starts_at"], got[0]["ends_at"], got[0]["length_seconds"]) == (
        "2026-03-27T21:00:00Z", "2026-03-28T05:00:00Z", 8 * 3600)
    # Saturday night into Sunday 29 March, when 02:00 CET jumps to 03:00 CEST: 7 h, and the
    # 02:00–02:30 break falls in the gap (zero length).
    assert (got[1]["starts_at"], got[1]["ends_at"], got[1]["length_seconds"], got[1]["break_seconds"]) == (
        "2026-03-28T21:00:00Z", "2026-03-29T04:00:00Z", 7 * 3600, 0)
    autumn = instances(api, owner, s["id"], "2026-10-24", "2026-10-24")[0]
    assert autumn["length_seconds"] == 9 * 3600 and autumn["break_seconds"] == 30 * 60
    # The engine is the single source of these numbers.
    engine = resolve_shift(ShiftPattern("Night", time(22), time(6), ((time(2), time(2, 30)),)), date(2026, 10, 24),
                           "Europe/Berlin")
    assert datetime.fromisoformat(autumn["starts_at"]) == engine.start
    assert datetime.fromisoformat(autumn["ends_at"]) == engine.end
    assert night["id"] == autumn["pattern_id"] and autumn["id"] is None  # nothing recorded yet


def test_instance_queries_are_validated(api: httpx.Client, owner: Session) -> None:
    s = plant.site(api, owner)
    h = owner.headers
    problem(api.get("/api/v1/shifts/instances", params={"site_id": s["id"], "from": "2026-03-02", "to": "2026-03-01"},
                    headers=h), 422, "invalid_range", "to")
    problem(api.get("/api/v1/shifts/instances", params={"site_id": s["id"], "from": "2026-01-01", "to": "2026-06-01"},
                    headers=h), 422, "range_too_long", "to")
    problem(api.get("/api/v1/shifts/instances", params={"site_id": s["id"], "from": "2026-01-01"}, headers=h),
            422, "validation_failed", "to")
