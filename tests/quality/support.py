"""Plans, a shop with a running order, and counts on its machine, for the quality tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from tests.accounts import Session
from tests.orders import order_support, runs_plant


def bore(**over: Any) -> dict[str, Any]:
    """A measured characteristic: 10.00 ± 0.05 mm, measured on 3 parts, never negative."""
    return {"name": "Bore", "kind": "measured", "nominal": "10.00", "lsl": "9.95", "usl": "10.05", "unit": "mm",
            "decimals": 2, "min_value": "0", "max_value": "100", "sample_size": 3} | over


def surface(**over: Any) -> dict[str, Any]:
    return {"name": "Surface", "kind": "attribute", "defects": ["Scratch", "Burr"]} | over


def version(**over: Any) -> dict[str, Any]:
    return {"first_article": True, "every_parts": 50, "characteristics": [bore(), surface()]} | over


def plan(api: httpx.Client, who: Session, **over: Any) -> dict[str, Any]:
    body = {"name": "Bracket final", "version": version()} | over
    r = api.post("/api/v1/quality/plans", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def signature(who: Session, meaning: str = "approved", **over: Any) -> dict[str, Any]:
    return {"password": who.password, "meaning": meaning} | over


def release(api: httpx.Client, who: Session, plan_id: str, number: int = 1, **over: Any) -> httpx.Response:
    """Release a version, signed by `who` with their password (override with signature=...)."""
    body = {"signature": signature(who)} | over
    return api.post(f"/api/v1/quality/plans/{plan_id}/versions/{number}/release", json=body, headers=who.headers)


def get_version(api: httpx.Client, who: Session, plan_id: str, number: int = 1) -> dict[str, Any]:
    r = api.get(f"/api/v1/quality/plans/{plan_id}/versions/{number}", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def running_shop(api: httpx.Client, owner: Session, engine: Engine) -> dict[str, Any]:
    """A site and machine; a product with a one-operation routing; its order running on the machine."""
    shop = runs_plant.shop(api, owner)
    machine = shop["machines"][0]
    product = order_support.product(engine, owner.tenant_id, [(10, "Press", [(machine["id"], "10", 1)])])
    order = order_support.create(api, owner, product=None, product_id=product["id"], quantity=500, status="released")
    op = order["operations"][0]["id"]
    r = api.post(f"/api/v1/machines/{machine['id']}/run", json={"operation_id": op}, headers=owner.headers)
    assert r.status_code == 201, r.text
    return {"site": shop["site"], "machine": machine, "product": product, "order": order, "operation_id": op,
            "run": r.json()["run"]}


def count(engine: Engine, tenant: str, machine_id: str, good: int, reject: int = 0,
          minute: datetime | None = None) -> None:
    """Parts the PLC counted on the machine in one minute (default: this minute)."""
    minute = (minute or datetime.now(UTC)).replace(second=0, microsecond=0)
    with tenant_transaction(engine, UUID(tenant)) as conn:
        conn.execute(text("insert into machine_count_buckets (tenant_id, machine_id, minute, good, reject) "
                          "values (:t, :m, :min, :g, :r) on conflict (tenant_id, machine_id, minute) do update "
                          "set good = machine_count_buckets.good + excluded.good, "
                          "reject = machine_count_buckets.reject + excluded.reject"),
                     {"t": tenant, "m": machine_id, "min": minute, "g": good, "r": reject})



def count_rejects(engine: Engine, tenant: str, machine_id: str, at: dict[datetime, int], good: int = 40) -> None:
    """Rejects the PLC counted on the machine, by minute (each minute with `good` parts too)."""
    for minute, reject in at.items():
        count(engine, tenant, machine_id, good, reject, minute)

def backdate(engine: Engine, tenant: str, table: str, row_id: str, column: str, minutes: int) -> None:
    """Move a row's instant into the past (as if made earlier)."""
    assert table in {"operation_runs", "inspections", "inspection_plan_versions"} and column.isidentifier()
    with tenant_transaction(engine, UUID(tenant)) as conn:
        conn.execute(text(f"update {table} set {column} = {column} - make_interval(mins => :m) where id = :id"),
                     {"m": minutes, "id": row_id})


def inspect(api: httpx.Client, who: Session, machine_id: str, plan_id: str, ver: dict[str, Any],
            values: list[str] | None = None, passed: bool = True, defect: str | None = None,
            **over: Any) -> httpx.Response:
    bore_c, surface_c = ver["characteristics"]
    results = [{"characteristic_id": bore_c["id"], "values": values or ["10.00", "10.01", "9.99"]},
               {"characteristic_id": surface_c["id"], "passed": passed, "defect": defect}]
    body = {"machine_id": machine_id, "plan_id": plan_id, "results": results} | over
    return api.post("/api/v1/inspections", json=body, headers=who.headers)


def ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)
