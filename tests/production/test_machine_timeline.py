"""`/production/timeline`: a machine's states and its counts per hour of the site's clock,
counted as the KPIs count them (buckets by minute, entries by start, scrap by when)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, record_counts, record_state_change
from tests.accounts import new_company
from tests.production import plant

# 08:00 UTC is 13:30 in Kolkata (UTC+5:30): the site's hours start at hh:30 UTC.
T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_states_and_counts_per_local_hour(api, app_engine) -> None:
    owner = new_company(api)
    site = plant.site(api, owner, timezone="Asia/Kolkata")
    m = plant.machine(api, owner, site["id"], cycle="0.001")
    day = plant.shift(api, owner, site["id"], "Day", "00:00", "00:00")
    plant.operator(api, owner, site["id"], owner.user_id)
    tenant, mid = uuid.UUID(owner.tenant_id), uuid.UUID(m["id"])
    with tenant_transaction(app_engine, tenant) as conn:
        for state, code, minute in (("running", 1, -10), ("unplanned_stop", 3, 50), ("running", 1, 70)):
            record_state_change(conn, tenant, mid, state, code, at(minute))
        record_counts(conn, tenant, [CountRow(mid, at(5), 10, 1, "a"), CountRow(mid, at(29), 4, 0, "b"),
                                     CountRow(mid, at(30), 7, 0, "c"), CountRow(mid, at(150), 3, 2, "d")])
    ref = {"machine_id": m["id"], "shift_id": day["id"], "shift_date": "2026-09-01"}
    r = api.post("/api/v1/production/entry", headers=owner.headers, json=ref | {
        "good_quantity": 20, "started_at": at(95).isoformat(), "ended_at": at(100).isoformat()})
    assert r.status_code == 201, r.text
    reasons = api.get("/api/v1/downtime/reasons", headers=owner.headers, params={"limit": 200}).json()["items"]
    scrap = next(x["id"] for x in reasons if x["code"] == "DEFECT.SURFACE")
    r = api.post("/api/v1/rejections", headers=owner.headers, json=ref | {
        "quantity": 5, "reason_id": scrap, "occurred_at": at(40).isoformat()})
    assert r.status_code == 201, r.text

    r = api.get("/api/v1/production/timeline", headers=owner.headers,
                params={"machine_id": m["id"], "from": T0.isoformat(), "to": at(180).isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    spans = [(s["state"], s["started_at"], s["ended_at"]) for s in body["states"]]
    assert [(s, datetime.fromisoformat(a), b and datetime.fromisoformat(b)) for s, a, b in spans] == [
        ("running", at(0), at(50)),  # began before the period: clipped to it
        ("unplanned_stop", at(50), at(70)),
        ("running", at(70), None),  # still running
    ]
    hours = [(datetime.fromisoformat(h["start"]), datetime.fromisoformat(h["end"]), h["good"], h["reject"])
             for h in body["hours"]]
    # Local hours 13:30–14:00 (clipped), 14:00–15:00, 15:00–16:00, 16:00–16:30 (clipped).
    assert hours == [
        (at(0), at(30), 14, 1),  # buckets at :05 and :29
        (at(30), at(90), 7, 5),  # bucket at :30, scrap entered at :40
        (at(90), at(150), 20, 0),  # the entry counts in the hour it started
        (at(150), at(180), 3, 2),
    ]


def test_bad_periods_and_other_companies_machines_are_refused(api) -> None:
    owner, stranger = new_company(api), new_company(api)
    site = plant.site(api, owner)
    m = plant.machine(api, owner, site["id"])
    url, period = "/api/v1/production/timeline", {"machine_id": m["id"], "from": T0.isoformat()}
    plant.problem(api.get(url, headers=owner.headers, params=period | {"to": at(-1).isoformat()}),
                  422, "invalid_range", "to")
    plant.problem(api.get(url, headers=owner.headers, params=period | {"to": at(60 * 49).isoformat()}),
                  422, "range_too_long", "to")
    plant.problem(api.get(url, headers=stranger.headers, params=period | {"to": at(60).isoformat()}),
                  422, "machine_not_found", "machine_id")
