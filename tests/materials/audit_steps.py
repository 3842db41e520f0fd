"""The route audit walk's steps for the materials routes (see tests/audit/walk.py)."""

from __future__ import annotations

import uuid

from tests.audit.walk import Expect, Walk, step
from tests.production import plant

M = "/api/v1/materials"


def _item(w: Walk, **over: object) -> dict:
    return w.call("POST", f"{M}/items", json={"number": f"RM-{uuid.uuid4().hex[:6]}", "name": "Steel", **over}).json()


@step("POST /api/v1/materials/items")
def _item_create(w: Walk) -> Expect:
    item = _item(w, unit="kg")
    w.state["mat_item"] = item
    return Expect("create", "item", item["id"], "create")


@step("PUT /api/v1/materials/items/{item_id:uuid}/units")
def _item_units(w: Walk) -> Expect:
    item = w.state["mat_item"]
    w.call("PUT", f"{M}/items/{item['id']}/units", json={"units": [{"unit": "t", "factor": "1000"}]})
    return Expect("update", "item", item["id"], "update")


def _mat_product(w: Walk) -> dict:
    if "mat_product" not in w.state:
        w.state["mat_product"] = w.call("POST", "/api/v1/products", json={
            "number": f"HSG-{uuid.uuid4().hex[:6]}", "name": "Housing"}).json()
    return w.state["mat_product"]


@step("POST /api/v1/materials/products/{product_id:uuid}/boms")
def _bom_create(w: Walk) -> Expect:
    bom = w.call("POST", f"{M}/products/{_mat_product(w)['id']}/boms",
                 json={"lines": [{"item_id": w.state["mat_item"]["id"], "quantity": "2"}]}).json()
    w.state["mat_bom"] = bom
    return Expect("create", "bom", bom["id"], "create")


@step("POST /api/v1/materials/boms/{bom_id:uuid}/release")
def _bom_release(w: Walk) -> Expect:
    bom = w.state["mat_bom"]
    w.call("POST", f"{M}/boms/{bom['id']}/release")
    return Expect("update", "bom", bom["id"], "update")


@step("DELETE /api/v1/materials/boms/{bom_id:uuid}")
def _bom_delete(w: Walk) -> Expect:
    draft = w.call("POST", f"{M}/products/{_mat_product(w)['id']}/boms",
                   json={"lines": [{"item_id": w.state["mat_item"]["id"], "quantity": "3"}]}).json()
    w.call("DELETE", f"{M}/boms/{draft['id']}")
    return Expect("delete", "bom", draft["id"], "delete")


@step("POST /api/v1/materials/locations")
def _location(w: Walk) -> Expect:
    loc = w.call("POST", f"{M}/locations", json={"site_id": w.state["site"]["id"], "kind": "warehouse",
                                                  "code": f"WH-{uuid.uuid4().hex[:4]}"}).json()
    w.state["mat_location"] = loc
    return Expect("create", "location", loc["id"], "create")


@step("PUT /api/v1/materials/sites/{site_id:uuid}/stock-policy")
def _stock_policy(w: Walk) -> Expect:
    root = w.call("PUT", f"{M}/sites/{w.state['site']['id']}/stock-policy", json={"allow_negative": True}).json()
    return Expect("update", "location", root["id"], "update")


@step("PUT /api/v1/materials/lot-pattern")
def _lot_pattern(w: Walk) -> Expect:
    w.call("PUT", f"{M}/lot-pattern", json={"lot_pattern": "W{yy}{mm}-{seq:05}"})
    return Expect("update", "inventory_settings", w.owner.tenant_id, "update")


@step("POST /api/v1/materials/lots")
def _lot(w: Walk) -> Expect:
    lot = w.call("POST", f"{M}/lots", json={"item_id": w.state["mat_item"]["id"], "supplier": "Acme"}).json()
    w.state["mat_lot"] = lot
    return Expect("create", "lot", lot["id"], "create")


@step("POST /api/v1/materials/lots/{lot_id:uuid}/status")
def _lot_status(w: Walk) -> Expect:
    lot = w.call("POST", f"{M}/lots", json={"item_id": w.state["mat_item"]["id"]}).json()
    w.call("POST", f"{M}/lots/{lot['id']}/status", json={"status": "quarantine", "reason": "certificate missing"})
    return Expect("update", "lot", lot["id"], "update")


@step("POST /api/v1/materials/movements")
def _movement(w: Walk) -> Expect:
    mv = w.call("POST", f"{M}/movements", json={
        "kind": "receipt", "item_id": w.state["mat_item"]["id"], "lot_id": w.state["mat_lot"]["id"],
        "quantity": "0.5", "unit": "t", "to_location_id": w.state["mat_location"]["id"]}).json()
    return Expect("create", "stock_movement", str(mv["id"]), "create")


@step("POST /api/v1/materials/machines/{machine_id:uuid}/scan")
def _scan(w: Walk) -> Expect:
    m = plant.machine(w.http, w.owner, w.state["site"]["id"])
    w.state["mat_machine"] = m
    order = w.call("POST", "/api/v1/orders", json={
        "job_number": f"MO-{uuid.uuid4().hex[:6]}", "product_id": _mat_product(w)["id"], "quantity": 10,
        "due_date": "2026-09-01", "status": "released"}).json()
    w.state["mat_operation"] = order["operations"][0]["id"]
    w.call("POST", f"/api/v1/machines/{m['id']}/run", json={"operation_id": w.state["mat_operation"]})
    r = w.call("POST", f"{M}/machines/{m['id']}/scan", json={"code": w.state["mat_lot"]["number"]}).json()
    return Expect("create", "lot_load", r["load_id"], "create")


@step("POST /api/v1/materials/operations/{operation_id:uuid}/output")
def _output(w: Walk) -> Expect:
    # Completion makes the order's lot by itself; the route books a further (correction) lot.
    w.call("POST", f"/api/v1/machines/{w.state['mat_machine']['id']}/run/complete", json={"final_good": 10})
    r = w.call("POST", f"{M}/operations/{w.state['mat_operation']}/output", json={"quantity": "2"}).json()
    return Expect("create", "lot", r["lot"]["id"], "create")


@step("POST /api/v1/materials/stock/import")
def _stock_import(w: Walk) -> Expect:
    import base64

    csv = f"Item,Lot,Location,Quantity\n{w.state['mat_item']['number']},OPEN-1,{w.state['mat_location']['code']},5\n"
    r = w.call("POST", f"{M}/stock/import", json={"file_name": "stock.csv", "dry_run": False,
                                                  "content": base64.b64encode(csv.encode()).decode()}).json()
    return Expect("create", "stock_import", r["import_id"], "create")
