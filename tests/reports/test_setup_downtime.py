"""Setup nobody booked a reason for (the machine signalled it) is downtime in the reason table.

The Downtime figure counts unplanned stops and setup, as OEE does; the table under it says it
lists the same losses. A machine's own setup state has no downtime event, so it had no row and
the table fell short of the figure with nothing to explain it. Real server over HTTP; the
machine's states recorded as the poller records them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import record_state_change
from tests.accounts import new_company
from tests.production import plant
from tests.reports.test_api_reports import section, tiles

DAY = "2026-11-02"


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 2, hour, minute, tzinfo=UTC)


def test_signalled_setup_is_a_row_of_the_downtime_table(api_client: httpx.Client, app_engine) -> None:
    owner = new_company(api_client, timezone="UTC")
    site = plant.site(api_client, owner, timezone="UTC")
    plant.shift(api_client, owner, site["id"], "Early", "06:00", "14:00")
    machine = plant.machine(api_client, owner, site["id"], cycle=30, name="Press")
    tenant = uuid.UUID(owner.tenant_id)
    for state, code, at in (("running", 1, _at(6)), ("setup", 5, _at(7)), ("running", 1, _at(7, 30))):
        with tenant_transaction(app_engine, tenant) as conn:
            record_state_change(conn, tenant, uuid.UUID(machine["id"]), state, code, at)
    reasons = api_client.get("/api/v1/downtime/reasons", params={"limit": 500}, headers=owner.headers).json()
    changeover = next(r["id"] for r in reasons["items"] if r["code"] == "SETUP.CHANGEOVER")
    booked = api_client.post("/api/v1/downtime", headers=owner.headers, json={
        "machine_id": machine["id"], "started_at": _at(10).isoformat(), "ended_at": _at(10, 10).isoformat(),
        "reason_id": changeover})
    assert booked.status_code == 201, booked.text

    r = api_client.get("/api/v1/reports/downtime", headers=owner.headers,
                       params={"format": "json", "site_id": site["id"], "date": DAY, "shift": "Early"})
    assert r.status_code == 200, r.text
    doc = r.json()
    table = section(doc, "downtime_by_reason")
    rows = {row["reason"]: row for row in table["rows"]}

    assert tiles(doc)["downtime"] == 40 * 60  # 30 min signalled + 10 min booked, both setup
    assert rows["Changeover"]["duration"] == 10 * 60
    assert rows["Setup, no reason booked"]["duration"] == 30 * 60  # counted once, not with the booking
    assert rows["Setup, no reason booked"]["stops"] == 1
    assert sum(row["duration"] for row in table["rows"]) == tiles(doc)["downtime"]
    pareto = section(doc, "downtime_pareto")
    assert sum(pareto["values"]) == tiles(doc)["downtime"]
