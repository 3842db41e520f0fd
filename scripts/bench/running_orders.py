"""Put an order operation to run on every machine of a seeded plant (benchmarks' "orders running").

One product whose routing lets every line run it at its own standard (`cycle_seconds`, `parts_per_cycle`
parts a cycle), one released order per machine for it, started at the machine by its number as
an operator's scan would: from then on every count on the machine belongs to that order.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx

from scripts.drills.plant import Plant


def _ok(r: httpx.Response, status: int = 201) -> dict:
    if r.status_code != status:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
    return r.json()


def start_orders(client: httpx.Client, plant: Plant, *, cycle_seconds: str = "0.01", parts_per_cycle: int = 2,
                 quantity: int = 10_000_000) -> list[str]:
    """Start one order per machine; returns the order numbers."""
    h = plant.owner.headers
    tag = uuid.uuid4().hex[:6]
    product = _ok(client.post("/api/v1/products", json={"number": f"P-{tag}", "name": "Bench bracket"}, headers=h))
    resources = [{"line_id": line, "cycle_seconds": cycle_seconds, "parts_per_cycle": parts_per_cycle}
                 for line in plant.line_ids]
    _ok(client.put(f"/api/v1/products/{product['id']}/routing", headers=h, json={
        "operations": [{"seq": 10, "name": "Press", "setup_seconds": "600", "resources": resources}]}), 200)
    due = (date.today() + timedelta(days=30)).isoformat()
    numbers = []
    for i, machine_id in enumerate(plant.machine_ids):
        number = f"MO-{tag}-{i:04d}"
        _ok(client.post("/api/v1/orders", headers=h, json={
            "job_number": number, "product_id": product["id"], "quantity": quantity, "due_date": due,
            "machine_id": machine_id, "status": "released"}))
        _ok(client.post(f"/api/v1/machines/{machine_id}/run", json={"order_number": number}, headers=h))
        numbers.append(number)
    return numbers
