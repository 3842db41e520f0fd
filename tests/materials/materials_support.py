"""Items, BOMs, lots and stock made over the API, and orders run on machines, for materials tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.accounts import Session
from tests.orders import order_support

M = "/api/v1/materials"


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def item(api: httpx.Client, who: Session, **body: Any) -> dict[str, Any]:
    body = {"number": f"I-{uuid.uuid4().hex[:6]}", "name": "Steel sheet", **body}
    return ok(api.post(f"{M}/items", json=body, headers=who.headers), 201)


def bom(api: httpx.Client, who: Session, product_id: str, lines: list[tuple[str, str, str]],
        release: bool = True) -> dict[str, Any]:
    """lines: (item_id, quantity per unit, scrap percent)."""
    out = ok(api.post(f"{M}/products/{product_id}/boms", headers=who.headers, json={
        "lines": [{"item_id": i, "quantity": q, "scrap_percent": s} for i, q, s in lines]}), 201)
    if release:
        out = ok(api.post(f"{M}/boms/{out['id']}/release", headers=who.headers))
    return out


def warehouse(api: httpx.Client, who: Session, site_id: str, code: str = "WH1") -> dict[str, Any]:
    return ok(api.post(f"{M}/locations", json={"site_id": site_id, "kind": "warehouse", "code": code},
                       headers=who.headers), 201)


def lot(api: httpx.Client, who: Session, item_id: str, **body: Any) -> dict[str, Any]:
    return ok(api.post(f"{M}/lots", json={"item_id": item_id, **body}, headers=who.headers), 201)


def move(api: httpx.Client, who: Session, **body: Any) -> httpx.Response:
    return api.post(f"{M}/movements", json=body, headers=who.headers)


def receive(api: httpx.Client, who: Session, item_id: str, lot_id: str | None, quantity: str,
            location_id: str) -> dict[str, Any]:
    return ok(move(api, who, kind="receipt", item_id=item_id, lot_id=lot_id, quantity=quantity,
                   to_location_id=location_id), 201)


def routed_product(api: httpx.Client, who: Session, app_engine: Any, machine: dict[str, Any], number: str,
                   name: str) -> dict[str, Any]:
    return order_support.product(app_engine, who.tenant_id, [(10, "Make", [(machine["id"], "10", 1)])],
                                 number=number, name=name)


def run_order(api: httpx.Client, who: Session, product: dict[str, Any], machine: dict[str, Any], quantity: int,
              scans: list[dict[str, Any]], good: int) -> dict[str, Any]:
    """Create and release an order over the API, run it on the machine with the scans and complete it
    with `good` parts: completing makes the finished lot. Returns the scan answers and what the
    completion made: the lot, the issues it backflushed and its inputs (lot number → quantity)."""
    order = order_support.create(api, who, product_id=product["id"], product=product["name"], quantity=quantity)
    ok(order_support.set_status(api, who, order["id"], "released"))
    op = order["operations"][0]["id"]
    ok(api.post(f"/api/v1/machines/{machine['id']}/run", json={"operation_id": op}, headers=who.headers), 201)
    answers = [scan(api, who, machine, **s) for s in scans]
    for a in answers:
        assert a.status_code == 201, a.text
    ok(api.post(f"/api/v1/machines/{machine['id']}/run/complete", json={"final_good": good}, headers=who.headers))
    return {"order": order, "operation_id": op, "scans": [a.json() for a in answers],
            "output": made_by(api, who, order["id"], op, [a.json() for a in answers])}


def made_by(api: httpx.Client, who: Session, order_id: str, operation_id: str,
            scans: list[dict[str, Any]]) -> dict[str, Any]:
    """The order's one finished lot, the issues booked at completion (not at a scan), and its inputs."""
    made = ok(api.get(f"{M}/lots", params={"job_id": order_id}, headers=who.headers))["items"]
    assert len(made) == 1, made
    scanned = {m["id"] for a in scans for m in a["movements"]}
    issues = ok(api.get(f"{M}/movements", params={"operation_id": operation_id, "kind": "issue"},
                        headers=who.headers))["items"]
    back = trace(api, who, "backward", made[0]["id"])
    numbers = {d["lot_id"]: d["lot_number"] for d in back["details"]}
    return {"lot": made[0], "backflushed": [m for m in issues if m["id"] not in scanned],
            "consumed": {numbers[n["lot_id"]]: n["quantity"] for n in back["nodes"] if n["level"] == 1}}


def scan(api: httpx.Client, who: Session, machine: dict[str, Any], **body: Any) -> httpx.Response:
    return api.post(f"{M}/machines/{machine['id']}/scan", json=body, headers=who.headers)


def trace(api: httpx.Client, who: Session, direction: str, lot: str) -> dict[str, Any]:
    return ok(api.get(f"/api/v1/trace/{direction}", params={"lot": lot}, headers=who.headers))
