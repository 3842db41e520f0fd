"""Every kind of movement on one lot over the real API: site → warehouse → bin and the machine's
line side; receipt in another unit, transfer, issue and return for an order operation, scrap and
adjustment with their reasons; balances per location, the ledger and its audit; the finished lot
linked to what was issued less what came back."""

from __future__ import annotations

from sqlalchemy import text

from tests.materials import materials_support as ms
from tests.orders import order_support, runs_plant


def test_every_movement_kind_on_one_lot(api, owner, app_engine, superuser_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=1)
    site, m = shop["site"], shop["machines"][0]
    wh = ms.warehouse(api, owner, site["id"])
    bin_a = ms.ok(api.post(f"{ms.M}/locations", json={"site_id": site["id"], "kind": "bin", "code": "WH1-A",
                                                      "parent_id": wh["id"]}, headers=owner.headers), 201)
    line = ms.ok(api.post(f"{ms.M}/locations", json={"site_id": site["id"], "kind": "line_side", "code": "LS-1",
                                                     "machine_id": m["id"]}, headers=owner.headers), 201)
    steel = ms.item(api, owner, number="RM-STEEL", unit="kg", units=[{"unit": "t", "factor": "1000"}])
    lot = ms.lot(api, owner, steel["id"], number="S-1", supplier="Acme Steel", supplier_lot="A-1")
    bracket = ms.routed_product(api, owner, app_engine, m, "BRK-1", "Bracket")
    ms.bom(api, owner, bracket["id"], [(steel["id"], "1", "0")])
    order = order_support.create(api, owner, product_id=bracket["id"], product="Bracket", quantity=25)
    ms.ok(order_support.set_status(api, owner, order["id"], "released"))
    op = order["operations"][0]["id"]
    ms.ok(api.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": op}, headers=owner.headers), 201)

    base = {"item_id": steel["id"], "lot_id": lot["id"]}
    done = [
        ms.ok(ms.move(api, owner, kind="receipt", **base, quantity="0.2", unit="t", to_location_id=bin_a["id"]), 201),
        ms.ok(ms.move(api, owner, kind="transfer", **base, quantity="50", from_location_id=bin_a["id"],
                      to_location_id=line["id"]), 201),
        ms.ok(ms.move(api, owner, kind="issue", **base, quantity="30", from_location_id=line["id"],
                      operation_id=op), 201),
        ms.ok(ms.move(api, owner, kind="return", **base, quantity="5", to_location_id=bin_a["id"],
                      operation_id=op), 201),
        ms.ok(ms.move(api, owner, kind="scrap", **base, quantity="2", from_location_id=bin_a["id"],
                      reason="rusty edge"), 201),
        ms.ok(ms.move(api, owner, kind="adjustment", **base, quantity="-3", to_location_id=bin_a["id"],
                      reason="stock count"), 201),
    ]
    assert [(d["kind"], d["quantity"], d["entered_quantity"], d["entered_unit"]) for d in done] == [
        ("receipt", "200", "0.2", "t"), ("transfer", "50", "50", "kg"), ("issue", "30", "30", "kg"),
        ("return", "5", "5", "kg"), ("scrap", "2", "2", "kg"), ("adjustment", "-3", "-3", "kg")]
    assert done[2]["job_id"] == done[3]["job_id"] == order["id"]
    assert done[2]["machine_id"] == done[3]["machine_id"] == m["id"]  # where the operation runs
    # A return names where it comes back to, never where from; a transfer moves between two places.
    assert ms.move(api, owner, kind="return", **base, quantity="1", from_location_id=line["id"],
                   operation_id=op).json()["code"] == "location_unexpected"
    assert ms.move(api, owner, kind="transfer", **base, quantity="1", from_location_id=line["id"],
                   to_location_id=line["id"]).json()["code"] == "location_same"
    stock = ms.ok(api.get(f"{ms.M}/stock", params={"lot_id": lot["id"]}, headers=owner.headers))["items"]
    assert sorted((s["location_code"], s["quantity"], s["negative"]) for s in stock) == [
        ("LS-1", "20", False), ("WH1-A", "150", False)]  # 200 − 50 + 5 − 2 − 3; 50 − 30
    assert ms.ok(api.get(f"{ms.M}/lots/{lot['id']}", headers=owner.headers))["on_hand"] == "170"
    ledger = ms.ok(api.get(f"{ms.M}/movements", params={"lot_id": lot["id"]}, headers=owner.headers))["items"]
    assert [x["kind"] for x in ledger] == ["adjustment", "scrap", "return", "issue", "transfer", "receipt"]

    # Completing 25 good parts: 25 kg issued net, so nothing backflushed; the lot links 25 kg of S-1.
    ms.ok(api.post(f"/api/v1/machines/{m['id']}/run/complete", json={"final_good": 25}, headers=owner.headers))
    made = ms.made_by(api, owner, order["id"], op, [])
    by_hand = {d["id"] for d in done}
    assert [b for b in made["backflushed"] if b["id"] not in by_hand] == []
    assert (made["lot"]["quantity"], made["consumed"]) == ("25", {"S-1": "25"})
    lots_here = ms.ok(api.get(f"{ms.M}/stock", params={"location_id": line["id"]}, headers=owner.headers))["items"]
    assert sorted((s["item_number"], s["quantity"]) for s in lots_here) == [("BRK-1", "25"), ("RM-STEEL", "20")]
    with superuser_engine.connect() as conn:
        audited = conn.execute(text(
            "select after ->> 'kind' from audit_log where tenant_id = :t and entity_type = 'stock_movement' "
            "order by seq"), {"t": owner.tenant_id}).scalars().all()
    assert audited == ["receipt", "transfer", "issue", "return", "scrap", "adjustment"]
