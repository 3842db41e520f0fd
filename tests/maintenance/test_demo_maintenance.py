"""The demo's maintenance seeding, on a company shaped like the demo plant: its run-hour plans
fall due minutes after seeding while the machines run (judged by the real due computation on
state intervals written through the ingest path)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from factoryos.db.tenant import tenant_transaction
from factoryos.demo.maintenance_records import seed_maintenance
from factoryos.maintenance.plans import plan_due
from factoryos.schema.maintenance import maintenance_assets, maintenance_plans
from tests.accounts import Session, join
from tests.maintenance import support as s
from tests.production import plant


class _Seeder:
    """What the demo's seeders use of the provisioner: its HTTP client and signed-in headers."""

    def __init__(self, http: httpx.Client, people: dict[str, Session]) -> None:
        self.http, self.people, self.logins = http, people, {}

    def login(self, key: str) -> dict[str, Any] | None:
        return {} if key in self.people else None

    def headers(self, key: str = "manager") -> dict[str, str]:
        return self.people[key].headers


def test_demo_plans_fall_due_within_minutes(api, owner, app_engine) -> None:
    site = plant.site(api, owner)
    machines = {c: plant.machine(api, owner, site["id"], code=c) for c in ("IMM-01", "IMM-02", "CNC-01", "PRS-01")}
    made = seed_maintenance(_Seeder(api, {"manager": owner, "operator": join(api, owner, "operator")}))
    assert made["request"]["status"] == "requested"
    lube = made["lube-1"]
    assert (lube["state"], lube["every_run_hours"]) == ("ok", 0.05)
    seeded = datetime.fromisoformat(lube["anchor_at"])
    s.states(app_engine, owner, machines["IMM-01"]["id"], ("running", seeded + timedelta(seconds=1)))
    mould = s.ok(api.get(f"{s.BASE}/assets", headers=owner.headers, params={"kind": "mould"}))["items"][0]
    assert (mould["mounted_on"], mould["usage"]["cycles"]) == (machines["IMM-01"]["id"], 180_000)

    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        row = conn.execute(select(maintenance_plans).where(maintenance_plans.c.id == uuid.UUID(lube["id"]))
                           ).mappings().one()
        asset = conn.execute(select(maintenance_assets).where(maintenance_assets.c.id == row["asset_id"])
                             ).mappings().one()
        # Running since seeding: soon after 2 min 1 s (a minute's lead), due after 3 min 1 s.
        states = [plan_due(conn, tenant, row, asset, seeded + timedelta(seconds=x)).state for x in (60, 130, 182)]
    assert states == ["ok", "soon", "due"]
