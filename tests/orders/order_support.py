"""Products with routings written under the tenant, and orders made over the API, for order tests."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from tests.accounts import Session


def product(engine: Engine, tenant: str, operations: list[tuple[int, str, list[tuple[str, str, int]]]], *,
            number: str | None = None, name: str = "Bracket", status: str = "active") -> dict[str, Any]:
    """A product and its routing: operations as (seq, name, [(machine_id, cycle_seconds, parts_per_cycle)])."""
    number = number or f"P-{uuid.uuid4().hex[:6]}"
    with tenant_transaction(engine, UUID(tenant)) as conn:
        product_id = conn.execute(text(
            "insert into products (tenant_id, number, name, status) values (:t, :n, :name, :s) returning id"),
            {"t": tenant, "n": number, "name": name, "s": status}).scalar_one()
        for seq, op_name, resources in operations:
            op_id = conn.execute(text(
                "insert into routing_operations (tenant_id, product_id, seq, name, setup_seconds) "
                "values (:t, :p, :seq, :name, 300) returning id"),
                {"t": tenant, "p": product_id, "seq": seq, "name": op_name}).scalar_one()
            for machine_id, cycle, parts in resources:
                conn.execute(text(
                    "insert into routing_resources (tenant_id, operation_id, machine_id, cycle_seconds, "
                    "parts_per_cycle) values (:t, :o, :m, :c, :p)"),
                    {"t": tenant, "o": op_id, "m": machine_id, "c": cycle, "p": parts})
    return {"id": str(product_id), "number": number, "name": name}


def create(api: httpx.Client, who: Session, **body: Any) -> dict[str, Any]:
    payload = {"job_number": f"MO-{uuid.uuid4().hex[:6]}", "product": "Bracket", "quantity": 100,
               "due_date": "2026-09-01", **body}
    r = api.post("/api/v1/orders", json=payload, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def set_status(api: httpx.Client, who: Session, order_id: str, status: str,
               reason: str | None = None) -> httpx.Response:
    return api.post(f"/api/v1/orders/{order_id}/status", json={"status": status, "reason": reason}, headers=who.headers)


def audits(engine: Engine, tenant: str, entity_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(
            "select action, entity_type, actor_id, before, after from audit_log "
            "where tenant_id = :t and entity_id = :e order by seq"), {"t": tenant, "e": entity_id}).mappings()]
