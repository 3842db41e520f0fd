"""The live view: state since when, shift counts vs plan, OEE so far, stops waiting for a reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, flag_overdue_stops, record_counts, record_state_change
from tests.accounts import new_company
from tests.production import plant


def test_live_view_of_a_running_shift(api: httpx.Client, app_engine) -> None:
    owner = new_company(api)
    s = plant.site(api, owner, timezone="UTC")
    plant.operator(api, owner, s["id"], owner.user_id)
    # A 24-hour shift that began about two hours ago, so "now" is well inside it.
    began = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    shift = plant.shift(api, owner, s["id"], "Round the clock", began.strftime("%H:%M"), began.strftime("%H:%M"))
    connected = plant.machine(api, owner, s["id"], cycle=10, name="Connected")
    manual = plant.machine(api, owner, s["id"], cycle=10, name="Manual")
    plant.machine(api, owner, s["id"], status="retired")  # not shown
    ref = {"shift_id": shift["id"], "shift_date": began.date().isoformat()}
    r = api.post("/api/v1/production/plan", json=ref | {"machine_id": connected["id"], "target_quantity": 500},
                 headers=owner.headers)
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/production/entry", json=ref | {"machine_id": manual["id"], "good_quantity": 40,
                                                         "ended_at": (began + timedelta(hours=1)).isoformat()},
                 headers=owner.headers)
    assert r.status_code == 201, r.text

    tenant = uuid.UUID(owner.tenant_id)
    stopped = began + timedelta(minutes=100)
    with tenant_transaction(app_engine, tenant) as conn:
        record_state_change(conn, tenant, connected["id"], "running", 1, began + timedelta(minutes=5))
        record_state_change(conn, tenant, connected["id"], "unplanned_stop", 13, stopped)
        record_counts(conn, tenant, [CountRow(connected["id"], began + timedelta(minutes=30), 100, 5, "live.1")])
        flag_overdue_stops(conn, tenant, stopped + timedelta(minutes=5))

    r = api.get("/api/v1/production/live", params={"site_id": s["id"]}, headers=owner.headers)
    assert r.status_code == 200, r.text
    rows = {m["name"]: m for m in r.json()["machines"]}
    assert set(rows) == {"Connected", "Manual"}
    c, m = rows["Connected"], rows["Manual"]
    assert (c["state"], c["raw_code"], datetime.fromisoformat(c["state_since"])) == ("unplanned_stop", 13, stopped)
    assert (c["good_count"], c["reject_count"], c["target_quantity"]) == (100, 5, 500)
    assert c["shift"]["name"] == "Round the clock" and datetime.fromisoformat(c["shift"]["starts_at"]) == began
    assert [(e["source"], e["ended_at"], e["needs_reason"]) for e in c["pending_downtime"]] == [("machine", None, True)]
    assert c["kpis"]["availability"] < 1 and c["kpis"]["quality"] == 100 / 105
    assert (m["state"], m["good_count"], m["target_quantity"], m["pending_downtime"]) == (None, 40, None, [])
    assert m["kpis"]["availability"] == 1.0 and m["kpis"]["quality"] == 1.0
