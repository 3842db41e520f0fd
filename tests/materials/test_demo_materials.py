"""The demo's materials, seeded through the real API on a small plant shaped like the demo's."""

from __future__ import annotations

from factoryos.demo.materials_records import seed_materials
from tests.materials import materials_support as ms
from tests.orders import runs_plant


class _Seeder:
    def __init__(self, http, owner) -> None:
        self.http, self.owner, self.logins = http, owner, {}

    def login(self, key: str):
        return {}

    def headers(self, key: str = "manager") -> dict[str, str]:
        return self.owner.headers


def test_the_demo_gets_a_bom_for_hsg_100_lots_in_stock_and_a_scanned_resin(api, owner) -> None:
    shop = runs_plant.shop(api, owner, machines=1)
    moulder = shop["machines"][0]
    product = ms.ok(api.post("/api/v1/products", json={"number": "HSG-100", "name": "Pump housing"},
                             headers=owner.headers), 201)
    order = ms.ok(api.post("/api/v1/orders", headers=owner.headers, json={
        "job_number": "MO-1001", "product_id": product["id"], "quantity": 100, "due_date": "2030-01-01",
        "status": "released"}), 201)
    ms.ok(api.post(f"/api/v1/machines/{moulder['id']}/run", json={"operation_id": order["operations"][0]["id"]},
                   headers=owner.headers), 201)
    made = seed_materials(_Seeder(api, owner))

    boms = ms.ok(api.get(f"{ms.M}/products/{product['id']}/boms", headers=owner.headers))
    assert [(b["status"], [ln["item_number"] for ln in b["lines"]]) for b in boms] == [
        ("released", ["RM-PA66", "CMP-INS-M6", "CMP-OR-40"])]
    resin = ms.ok(api.get(f"{ms.M}/lots/{made['resin']}", headers=owner.headers))
    assert (resin["on_hand"], resin["supplier_lot"]) == ("1000", "PW-24-0815")  # 40 bags of 25 kg
    held = ms.ok(api.get(f"{ms.M}/lots/{made['resin_hold']}", headers=owner.headers))
    assert held["status"] == "quarantine"
    loads = ms.ok(api.get(f"{ms.M}/stock", params={"site_id": shop["site"]["id"]}, headers=owner.headers))
    assert len(loads["items"]) == 4
