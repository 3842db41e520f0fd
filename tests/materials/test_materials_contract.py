"""Every `materials` route (items, BOMs, locations, lots, stock, scanning, traces, files) answers as documented."""

from __future__ import annotations

import base64
import uuid

import httpx

from tests.accounts import new_company
from tests.materials.test_genealogy_api import GTIN
from tests.orders import order_support, runs_plant
from tests.production.spec_check import SpecChecker


def test_every_materials_route_answers_as_documented(live_server, spec: SpecChecker, app_engine) -> None:
    seen = SpecChecker(spec.spec)
    with httpx.Client(base_url=live_server.url, timeout=30, event_hooks={"response": [seen.check]}) as api:
        owner = new_company(api)

        def call(method: str, path: str, expect: int, **kw) -> dict | None:
            r = api.request(method, "/api/v1" + path, headers=owner.headers, **kw)
            assert r.status_code == expect, f"{method} {path}: {r.text}"
            return r.json() if r.content and "json" in r.headers.get("content-type", "") else None

        shop = runs_plant.shop(api, owner)
        (m,), site = shop["machines"], shop["site"]
        steel = call("POST", "/materials/items", 201, json={"number": "RM-1", "name": "Steel", "unit": "kg",
                                                            "gtin": GTIN})
        call("POST", "/materials/items", 409, json={"number": "RM-1", "name": "Again"})
        call("GET", "/materials/items", 200, params={"q": "RM"})
        call("GET", f"/materials/items/{steel['id']}", 200)
        call("PUT", f"/materials/items/{steel['id']}/units", 200, json={"units": [{"unit": "t", "factor": "1000"}]})
        product = order_support.product(app_engine, owner.tenant_id, [(10, "Press", [(m["id"], "5", 1)])])
        bom = call("POST", f"/materials/products/{product['id']}/boms", 201,
                   json={"lines": [{"item_id": steel["id"], "quantity": "2"}]})
        call("GET", f"/materials/boms/{bom['id']}", 200)
        call("POST", f"/materials/boms/{bom['id']}/release", 200)
        call("DELETE", f"/materials/boms/{bom['id']}", 409)
        call("GET", f"/materials/products/{product['id']}/boms", 200)
        draft = call("POST", f"/materials/products/{product['id']}/boms", 201,
                     json={"lines": [{"item_id": steel["id"], "quantity": "3"}]})
        call("DELETE", f"/materials/boms/{draft['id']}", 204)
        wh = call("POST", "/materials/locations", 201, json={"site_id": site["id"], "kind": "warehouse", "code": "W"})
        call("GET", "/materials/locations", 200, params={"site_id": site["id"]})
        call("PUT", f"/materials/sites/{site['id']}/stock-policy", 200, json={"allow_negative": False})
        call("PUT", "/materials/lot-pattern", 200, json={"lot_pattern": "L{seq:05}"})
        lot = call("POST", "/materials/lots", 201, json={"item_id": steel["id"], "number": "S-1"})
        call("GET", "/materials/lots", 200, params={"item_id": steel["id"]})
        call("GET", f"/materials/lots/{lot['id']}", 200)
        call("GET", f"/materials/lots/{uuid.uuid4()}", 404)
        call("POST", "/materials/movements", 201, json={"kind": "receipt", "item_id": steel["id"], "lot_id": lot["id"],
                                                        "quantity": "100", "to_location_id": wh["id"]})
        call("GET", "/materials/movements", 200, params={"lot_id": lot["id"]})
        call("GET", "/materials/stock", 200, params={"site_id": site["id"]})
        csv = "Item,Location,Quantity\nRM-1,W,5\n"
        call("POST", "/materials/stock/import", 200, json={"file_name": "s.csv",
                                                           "content": base64.b64encode(csv.encode()).decode()})
        order = order_support.create(api, owner, product_id=product["id"], product="Bracket", quantity=10)
        order_support.set_status(api, owner, order["id"], "released")
        op = order["operations"][0]["id"]
        call("POST", f"/machines/{m['id']}/run", 201, json={"operation_id": op})
        call("POST", f"/materials/machines/{m['id']}/scan", 201, json={"code": f"01{GTIN}10S-1"})
        call("POST", f"/materials/machines/{m['id']}/scan", 422, json={"code": "0112345678901231" + "99X"})
        call("POST", f"/machines/{m['id']}/run/complete", 200, json={"final_good": 10})
        call("POST", f"/materials/operations/{op}/output", 409, json={})  # completion made the lot already
        out = call("POST", f"/materials/operations/{op}/output", 201, json={"quantity": "1"})
        call("POST", f"/materials/lots/{lot['id']}/status", 200, json={"status": "blocked", "reason": "NC"})
        call("GET", "/trace/backward", 200, params={"lot": out["lot"]["number"]})
        call("GET", "/trace/forward", 200, params={"lot": "S-1"})
        call("GET", "/trace/forward", 404, params={"lot": "NOPE"})
        call("GET", "/reports/trace", 200, params={"lot": "S-1", "format": "json"})
        call("GET", f"/reports/lots/{lot['id']}/label", 200, params={"format": "zpl"})

    documented = {(m_.upper(), path) for path, item in spec.spec["paths"].items() for m_, op_ in item.items()
                  if "materials" in op_["tags"]}
    assert documented and documented - seen.seen == set()
