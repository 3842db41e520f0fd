"""A three-level genealogy built by running orders on machines over the real API, traced both ways.

Steel and resin are received from suppliers; order 1 makes housings' sub-assemblies (SUB) from
them on machine 1 (steel scanned from its GS1 label and backflushed by BOM, resin consumed as
scanned); order 2 makes the finished housing (HSG) from the SUB lot and more resin on machine 2.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from tests.materials import materials_support as ms
from tests.orders import runs_plant

GTIN = "09506000134352"


def _plant(api, owner, app_engine):
    shop = runs_plant.shop(api, owner, machines=2)
    m1, m2 = shop["machines"]
    wh = ms.warehouse(api, owner, shop["site"]["id"])
    steel = ms.item(api, owner, number="RM-STEEL", name="Steel sheet", unit="kg", gtin=GTIN, has_expiry=True,
                    units=[{"unit": "t", "factor": "1000"}])
    resin = ms.item(api, owner, number="RM-RESIN", name="Resin", unit="kg")
    sub = ms.routed_product(api, owner, app_engine, m1, "SUB-10", "Sub-assembly")
    hsg = ms.routed_product(api, owner, app_engine, m2, "HSG-100", "Housing")
    sub_item = ms.item(api, owner, number="SUB-10", name="Sub-assembly", kind="product", product_id=sub["id"])
    ms.bom(api, owner, sub["id"], [(steel["id"], "2", "5"), (resin["id"], "0.5", "0")])
    ms.bom(api, owner, hsg["id"], [(sub_item["id"], "1", "0"), (resin["id"], "0.1", "0")])
    steel_lot = ms.lot(api, owner, steel["id"], number="S-100", supplier="Acme Steel", supplier_lot="A-77",
                       expires_on="2030-01-31")
    resin_lot = ms.lot(api, owner, resin["id"], supplier="Polymer GmbH", supplier_lot="P-5")
    r = ms.move(api, owner, kind="receipt", item_id=steel["id"], lot_id=steel_lot["id"], quantity="0.5", unit="t",
                to_location_id=wh["id"])
    assert r.status_code == 201 and r.json()["quantity"] == "500", r.text
    ms.receive(api, owner, resin["id"], resin_lot["id"], "100", wh["id"])
    return {"m1": m1, "m2": m2, "wh": wh, "steel": steel, "resin": resin, "sub": sub, "hsg": hsg,
            "sub_item": sub_item, "steel_lot": steel_lot, "resin_lot": resin_lot, "site": shop["site"]}


def test_three_levels_run_on_machines_and_traced_both_ways(api, owner, app_engine, superuser_engine) -> None:
    p = _plant(api, owner, app_engine)
    assert p["resin_lot"]["origin"] == "generated" and p["resin_lot"]["number"].startswith("L")
    # Level 2: SUB from steel (GS1 label, loaded: backflushed by BOM) and resin (consumed as scanned).
    gs1 = f"]d201{GTIN}17300131" + "10S-100"
    first = ms.run_order(api, owner, p["sub"], p["m1"], 10, [
        {"code": gs1}, {"code": p["resin_lot"]["number"], "quantity": "5"}], good=10)
    steel_scan, resin_scan = first["scans"]
    assert steel_scan["read"]["gtin"] == GTIN and steel_scan["read"]["lot"] == "S-100"
    assert steel_scan["movements"] == [] and "loaded" in steel_scan["message"]
    assert [m["quantity"] for m in resin_scan["movements"]] == ["5"]
    out1 = first["output"]
    sub_lot = out1["lot"]
    assert (sub_lot["item_number"], sub_lot["quantity"], sub_lot["origin"]) == ("SUB-10", "10", "production")
    # Steel: 2 kg per part × 10 × 1.05 scrap allowance, from the warehouse (nothing at the line side).
    assert [(m["kind"], m["quantity"]) for m in out1["backflushed"]] == [("issue", "21")]
    assert out1["consumed"] == {"S-100": "21", p["resin_lot"]["number"]: "5"}

    # Level 1: HSG from the SUB lot (plain lot number, as typed) and resin, on the second machine.
    second = ms.run_order(api, owner, p["hsg"], p["m2"], 10, [
        {"code": sub_lot["number"] + "\r\n"}, {"code": p["resin_lot"]["number"]}], good=8)
    hsg_lot = second["output"]["lot"]
    assert hsg_lot["quantity"] == "8"
    assert second["output"]["consumed"] == {sub_lot["number"]: "8", p["resin_lot"]["number"]: "0.8"}

    back = ms.trace(api, owner, "backward", hsg_lot["number"])
    assert (back["levels"], back["lots"], back["truncated"]) == (2, 4, False)
    number = {d["lot_id"]: d["lot_number"] for d in back["details"]}
    by_level = {}
    for n in back["nodes"]:
        by_level.setdefault(n["level"], set()).add(number[n["lot_id"]])
    assert by_level == {0: {hsg_lot["number"]}, 1: {sub_lot["number"], p["resin_lot"]["number"]},
                        2: {"S-100", p["resin_lot"]["number"]}}
    steel = next(d for d in back["details"] if d["lot_number"] == "S-100")
    assert [n["via_lot_id"] for n in back["nodes"] if n["lot_id"] == steel["lot_id"]] == [sub_lot["id"]]
    assert (steel["supplier"], steel["supplier_lot"]) == ("Acme Steel", "A-77")
    assert len(back["details"]) == back["lots"] == 4  # each lot's details once
    assert back["suppliers"] == ["Acme Steel", "Polymer GmbH"]
    assert back["orders"] == sorted([first["order"]["job_number"], second["order"]["job_number"]])
    assert back["machines"] == sorted([p["m1"]["code"], p["m2"]["code"]])
    assert back["operators"] and all(back["operators"])

    fwd = ms.trace(api, owner, "forward", "S-100")
    number = {d["lot_id"]: d["lot_number"] for d in fwd["details"]}
    assert [(n["level"], number[n["lot_id"]]) for n in fwd["nodes"]] == [
        (0, "S-100"), (1, sub_lot["number"]), (2, hsg_lot["number"])]
    # The resin lot went into both levels: forward it reaches SUB and HSG directly, and HSG again via SUB.
    resin_fwd = ms.trace(api, owner, "forward", p["resin_lot"]["id"])
    assert {d["lot_number"] for d in resin_fwd["details"]} == {p["resin_lot"]["number"], sub_lot["number"],
                                                               hsg_lot["number"]}
    assert len(resin_fwd["nodes"]) == 4  # HSG under resin and under SUB: two nodes, one set of details

    stock = ms.ok(api.get(f"{ms.M}/stock", params={"lot_id": p["steel_lot"]["id"]}, headers=owner.headers))
    assert [(s["location_code"], s["quantity"]) for s in stock["items"]] == [("WH1", "479")]
    with superuser_engine.connect() as conn:
        audited = dict(conn.execute(text(
            "select entity_type, count(*) from audit_log where tenant_id = :t and entity_type in "
            "('lot_load', 'lot', 'stock_movement', 'bom', 'item', 'location') group by 1"),
            {"t": owner.tenant_id}).all())
        ledger = conn.execute(text("select kind, count(*) from stock_movements where tenant_id = :t group by 1 "
                                   "order by 1"), {"t": owner.tenant_id}).all()
    # 4 scans; 2 lots entered (the 2 made are effects of their completion's row); 2 receipts by hand;
    # 2 drafts + 2 releases; 3 items; 1 warehouse.
    assert audited == {"lot_load": 4, "lot": 2, "stock_movement": 2, "bom": 4, "item": 3, "location": 1}
    assert ledger == [("issue", 4), ("production_receipt", 2), ("receipt", 2)]
    assert Decimal(next(d for d in back["details"] if d["lot_id"] == hsg_lot["id"])["lot_quantity"]) == 8


def test_a_lot_in_use_traces_forward_to_the_order_and_machine_it_is_loaded_for(api, owner, app_engine) -> None:
    """A recall asks where a lot went: loaded at a machine for a running order, it is in use there
    before anything is made from it (no lot links yet), and the forward trace says so."""
    from tests.orders import order_support

    p = _plant(api, owner, app_engine)
    order = order_support.create(api, owner, product_id=p["sub"]["id"], product=p["sub"]["name"], quantity=10)
    ms.ok(order_support.set_status(api, owner, order["id"], "released"))
    op = order["operations"][0]["id"]
    ms.ok(api.post(f"/api/v1/machines/{p['m1']['id']}/run", json={"operation_id": op}, headers=owner.headers), 201)
    loaded = ms.scan(api, owner, p["m1"], code="S-100")
    assert loaded.status_code == 201 and "loaded" in loaded.json()["message"], loaded.text

    fwd = ms.trace(api, owner, "forward", "S-100")
    assert (fwd["lots"], fwd["levels"]) == (1, 0)  # nothing made from it yet
    assert fwd["orders"] == [order["job_number"]] and fwd["machines"] == [p["m1"]["code"]]
    assert fwd["operators"] and fwd["suppliers"] == ["Acme Steel"]
