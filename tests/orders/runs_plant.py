"""Orders and operations written straight into the database (under the tenant) for run tests."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from tests.accounts import Session
from tests.production import plant


def shop(api: httpx.Client, owner: Session, cycle: float = 30, machines: int = 1) -> dict[str, Any]:
    """A site (owner is its operator) with machines at `cycle` seconds."""
    s = plant.site(api, owner)
    plant.operator(api, owner, s["id"], owner.user_id)
    return {"site": s, "machines": [plant.machine(api, owner, s["id"], cycle=cycle) for _ in range(machines)]}


def order(engine: Engine, tenant: str, operations: list[dict[str, Any]], *, status: str = "released",
          machine_id: str | None = None, quantity: int = 100, product: str = "Bracket") -> dict[str, Any]:
    """A job with operations (each: quantity, allowed, status, machine_id, queue_position, setup_seconds)."""
    number = f"MO-{uuid.uuid4().hex[:8]}"
    with tenant_transaction(engine, UUID(tenant)) as conn:
        job_id = conn.execute(text(
            "insert into jobs (tenant_id, job_number, product, quantity, due_date, machine_id, status) "
            "values (:t, :n, :p, :q, :d, :m, :s) returning id"),
            {"t": tenant, "n": number, "p": product, "q": quantity, "d": date(2026, 12, 31), "m": machine_id,
             "s": status}).scalar_one()
        ids = []
        for i, op in enumerate(operations):
            ids.append(conn.execute(text(
                "insert into order_operations (tenant_id, job_id, seq, name, quantity, setup_seconds, allowed, status, "
                "machine_id, queue_position) values (:t, :j, :seq, :name, :q, :setup, cast(:allowed as jsonb), :s, "
                ":m, :pos) returning id"),
                {"t": tenant, "j": job_id, "seq": op.get("seq", 10 * (i + 1)), "name": op.get("name", f"Op {i + 1}"),
                 "q": op.get("quantity", quantity), "setup": op.get("setup_seconds", 0),
                 "allowed": json.dumps(op.get("allowed", [])), "s": op.get("status", status),
                 "m": op.get("machine_id"), "pos": op.get("queue_position")}).scalar_one())
    return {"id": str(job_id), "number": number, "operations": [str(i) for i in ids]}


def allowed(machine: dict[str, Any], cycle: str = "10", parts: int = 1) -> dict[str, Any]:
    return {"machine_id": machine["id"], "cycle_seconds": cycle, "parts_per_cycle": parts}
