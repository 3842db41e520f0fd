"""Demo materials: resin and inserts with a BOM for HSG-100, a warehouse, lots in stock, and the running
order's resin lot scanned at the moulder, made through the API.

One resin lot is in quarantine (its certificate is missing), so the terminal refuses it when scanned.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from factoryos.demo.quality_records import Seeder, _ok

API = "/api/v1"
M = f"{API}/materials"
RESIN_GTIN = "04012345000016"


def seed_materials(seeder: Seeder) -> dict[str, Any]:
    """Make the demo's items, BOM, warehouse and lots; returns what was made (ids by name)."""
    http, h = seeder.http, seeder.headers()
    order = _ok(http.get(f"{API}/orders", params={"number": "MO-1001"}, headers=h), "MO-1001")["items"][0]
    detail = _ok(http.get(f"{API}/orders/{order['id']}", headers=h), "MO-1001")
    moulder = detail["operations"][0]["machine_id"]
    site_id = detail["site_id"] or _ok(http.get(f"{API}/machines/{moulder}", headers=h), "the moulder")["site_id"]

    def item(body: dict[str, Any]) -> dict[str, Any]:
        return _ok(http.post(f"{M}/items", json=body, headers=h), f"item {body['number']}")

    resin = item({"number": "RM-PA66", "name": "PA66 GF30 resin", "unit": "kg", "gtin": RESIN_GTIN,
                  "has_expiry": True, "units": [{"unit": "bag", "factor": "25"}]})
    insert = item({"number": "CMP-INS-M6", "name": "Brass insert M6", "unit": "pcs"})
    oring = item({"number": "CMP-OR-40", "name": "O-ring 40×3 NBR", "unit": "pcs"})
    bom = _ok(http.post(f"{M}/products/{detail['product_id']}/boms", headers=h, json={"lines": [
        {"item_id": resin["id"], "quantity": "0.42", "scrap_percent": "3"},
        {"item_id": insert["id"], "quantity": "4"},
        {"item_id": oring["id"], "quantity": "1"}]}), "the HSG-100 BOM")
    _ok(http.post(f"{M}/boms/{bom['id']}/release", headers=h), "releasing the BOM")
    wh = _ok(http.post(f"{M}/locations", json={"site_id": site_id, "kind": "warehouse", "code": "WH-RAW",
                                                "name": "Raw materials"}, headers=h), "the warehouse")
    expiry = (date.today() + timedelta(days=365)).isoformat()
    lots = {}
    for key, it, body, qty, unit in (
            ("resin", resin, {"supplier": "Polymer Werke AG", "supplier_lot": "PW-24-0815", "expires_on": expiry},
             "40", "bag"),
            ("resin_hold", resin, {"supplier": "Polymer Werke AG", "supplier_lot": "PW-24-0911",
                                   "expires_on": expiry}, "20", "bag"),
            ("insert", insert, {"supplier": "Kaiser Drehteile", "supplier_lot": "KD-5521"}, "20000", None),
            ("oring", oring, {"supplier": "Dichtungs GmbH", "supplier_lot": "DG-778"}, "5000", None)):
        lot = _ok(http.post(f"{M}/lots", json={"item_id": it["id"], **body}, headers=h), f"a {key} lot")
        _ok(http.post(f"{M}/movements", headers=h, json={
            "kind": "receipt", "item_id": it["id"], "lot_id": lot["id"], "quantity": qty, "unit": unit,
            "to_location_id": wh["id"]}), f"receiving the {key} lot")
        lots[key] = lot
    _ok(http.post(f"{M}/lots/{lots['resin_hold']['id']}/status", headers=h,
                  json={"status": "quarantine", "reason": "Certificate of analysis missing"}), "quarantining a lot")
    _ok(http.post(f"{M}/machines/{moulder}/scan", headers=h, json={"code": lots["resin"]["number"]}),
        "scanning the resin at the moulder")
    return {"bom": bom["id"], "warehouse": wh["id"], **{k: v["id"] for k, v in lots.items()}}
