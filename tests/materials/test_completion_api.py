"""Completing an order's operation makes its finished lot, in the same transaction, over the real API.

Every path that completes: the machine's complete, starting the next order with `current:
"complete"`, and a paused order completed by hand. An earlier operation's scans go into the lot
the last operation makes; an order without material completes without a lot and without error;
a completion refused (the backflush finds too little stock) leaves no lot, no confirmation and the
run open. Traces carry the inspections of the orders that made their lots and the NCs naming them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.materials import materials_support as ms
from tests.nonconformances.support import NC
from tests.orders import order_support, runs_plant
from tests.production.plant import problem
from tests.quality import support as quality

SER_GTIN = "09506000134369"


def _shop(api, owner, app_engine, machines: int = 1) -> dict[str, Any]:
    shop = runs_plant.shop(api, owner, machines=machines)
    wh = ms.warehouse(api, owner, shop["site"]["id"])
    steel = ms.item(api, owner, number="RM-STEEL", name="Steel sheet", unit="kg")
    steel_lot = ms.lot(api, owner, steel["id"], number="S-100", supplier="Acme Steel", supplier_lot="A-77")
    ms.receive(api, owner, steel["id"], steel_lot["id"], "50", wh["id"])
    return {"site": shop["site"], "machines": shop["machines"], "wh": wh, "steel": steel, "steel_lot": steel_lot}


def _start(api, owner, machine, product, quantity: int = 10, **body: Any) -> dict[str, Any]:
    order = order_support.create(api, owner, product_id=product["id"], product=product["name"], quantity=quantity)
    ms.ok(order_support.set_status(api, owner, order["id"], "released"))
    ms.ok(api.post(f"/api/v1/machines/{machine['id']}/run", headers=owner.headers,
                   json={"operation_id": order["operations"][0]["id"]} | body), 201)
    return order


def _complete(api, owner, machine, good: int):
    return api.post(f"/api/v1/machines/{machine['id']}/run/complete", json={"final_good": good},
                    headers=owner.headers)


def _lots_of(api, owner, order) -> list[dict[str, Any]]:
    return ms.ok(api.get(f"{ms.M}/lots", params={"job_id": order["id"]}, headers=owner.headers))["items"]


def _completion_audit(superuser_engine, tenant: str, run_id: str) -> dict[str, Any]:
    with superuser_engine.connect() as conn:
        return conn.execute(text(
            "select after from audit_log where tenant_id = :t and entity_type = 'operation_run' and entity_id = :r "
            "and after ->> 'end_kind' = 'completed'"), {"t": tenant, "r": run_id}).scalar_one()


def test_completion_makes_the_lot_and_a_refused_completion_makes_none(api, owner, app_engine,
                                                                       superuser_engine) -> None:
    s = _shop(api, owner, app_engine)
    m = s["machines"][0]
    bracket = ms.routed_product(api, owner, app_engine, m, "BRK-1", "Bracket")
    ms.bom(api, owner, bracket["id"], [(s["steel"]["id"], "2", "0")])
    order = _start(api, owner, m, bracket)
    ms.ok(ms.scan(api, owner, m, code="S-100"), 201)  # loaded: consumed by BOM at completion

    # 30 good parts need 60 kg; 50 in stock and the site does not allow negative stock: refused,
    # and nothing of the completion stays (the run is open, no lot, no confirmation, no issue).
    r = _complete(api, owner, m, 30)
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock", r.text
    run = ms.ok(api.get(f"/api/v1/machines/{m['id']}/run", headers=owner.headers))
    assert run is not None and run["operation_status"] == "running"
    assert _lots_of(api, owner, order) == []
    with superuser_engine.connect() as conn:
        left = conn.execute(text(
            "select (select count(*) from order_confirmations where tenant_id = :t and job_id = :j), "
            "(select count(*) from stock_movements where tenant_id = :t and job_id = :j)"),
            {"t": owner.tenant_id, "j": order["id"]}).one()
    assert tuple(left) == (0, 0)

    # 20 good parts: the lot of 20 is made, linked to the steel it used (40 kg backflushed).
    done = ms.ok(_complete(api, owner, m, 20))
    made = ms.made_by(api, owner, order["id"], order["operations"][0]["id"], [])
    assert (made["lot"]["quantity"], made["lot"]["origin"], made["lot"]["item_number"]) == ("20", "production",
                                                                                         "BRK-1")
    assert made["consumed"] == {"S-100": "40"}
    assert [(b["kind"], b["quantity"]) for b in made["backflushed"]] == [("issue", "40")]
    after = _completion_audit(superuser_engine, owner.tenant_id, done["id"])
    lot_effect = next(e for e in after["effects"] if e["entity"] == "lot")
    assert (lot_effect["id"], lot_effect["after"]["quantity"]) == (made["lot"]["id"], "20")
    # The correction route is still there: nothing good is left to put in a lot.
    r = api.post(f"{ms.M}/operations/{order['operations'][0]['id']}/output", json={}, headers=owner.headers)
    assert r.status_code == 409 and r.json()["code"] == "output_nothing_made"


def test_no_material_no_lot_and_no_error(api, owner, app_engine) -> None:
    s = _shop(api, owner, app_engine)
    m = s["machines"][0]
    plain = ms.routed_product(api, owner, app_engine, m, "PLN-1", "Plain part")  # no BOM, nothing scanned
    order = _start(api, owner, m, plain)
    done = ms.ok(_complete(api, owner, m, 10))
    assert done["operation_status"] == "completed"
    assert _lots_of(api, owner, order) == []
    # No good parts: no lot either, even with a BOM.
    bracket = ms.routed_product(api, owner, app_engine, m, "BRK-2", "Bracket")
    ms.bom(api, owner, bracket["id"], [(s["steel"]["id"], "1", "0")])
    order = _start(api, owner, m, bracket)
    ms.ok(_complete(api, owner, m, 0))
    assert _lots_of(api, owner, order) == []


def test_the_last_operation_makes_the_lot_of_every_operation_s_material(api, owner, app_engine) -> None:
    s = _shop(api, owner, app_engine, machines=2)
    m1, m2 = s["machines"]
    resin = ms.item(api, owner, number="RM-RESIN", name="Resin", unit="kg")
    resin_lot = ms.lot(api, owner, resin["id"], number="R-1")
    ms.receive(api, owner, resin["id"], resin_lot["id"], "10", s["wh"]["id"])
    two = order_support.product(app_engine, owner.tenant_id, [(10, "Cut", [(m1["id"], "10", 1)]),
                                                              (20, "Coat", [(m2["id"], "10", 1)])],
                                number="TWO-1", name="Coated bracket")
    ms.bom(api, owner, two["id"], [(s["steel"]["id"], "1", "0"), (resin["id"], "0.1", "0")])
    order = order_support.create(api, owner, product_id=two["id"], product="Coated bracket", quantity=5)
    ms.ok(order_support.set_status(api, owner, order["id"], "released"))
    cut, coat = (o["id"] for o in order["operations"])
    ms.ok(api.post(f"/api/v1/machines/{m1['id']}/run", json={"operation_id": cut}, headers=owner.headers), 201)
    ms.ok(ms.scan(api, owner, m1, code="S-100", quantity="5"), 201)
    ms.ok(_complete(api, owner, m1, 5))
    assert _lots_of(api, owner, order) == []  # an earlier operation: no lot yet
    ms.ok(api.post(f"/api/v1/machines/{m2['id']}/run", json={"operation_id": coat}, headers=owner.headers), 201)
    ms.ok(ms.scan(api, owner, m2, code="R-1"), 201)
    ms.ok(_complete(api, owner, m2, 5))
    made = ms.made_by(api, owner, order["id"], coat, [])
    assert made["lot"]["quantity"] == "5"
    assert made["consumed"] == {"S-100": "5", "R-1": "0.5"}


def test_starting_the_next_order_or_completing_by_hand_makes_the_lot(api, owner, app_engine, superuser_engine) -> None:
    s = _shop(api, owner, app_engine)
    m = s["machines"][0]
    t = owner.tenant_id
    bracket = ms.routed_product(api, owner, app_engine, m, "BRK-3", "Bracket")
    ms.bom(api, owner, bracket["id"], [(s["steel"]["id"], "1", "0")])
    first = _start(api, owner, m, bracket)
    first_run = ms.ok(api.get(f"/api/v1/machines/{m['id']}/run", headers=owner.headers))["id"]
    ms.ok(ms.scan(api, owner, m, code="S-100", quantity="4"), 201)
    quality.backdate(app_engine, t, "operation_runs", first_run, "started_at", 40)
    quality.count(app_engine, t, m["id"], good=4, minute=quality.ago(30))  # the PLC counted 4 in the run
    second = _start(api, owner, m, bracket, current="complete")  # completes the first on the way
    lot = _lots_of(api, owner, first)
    assert [(x["quantity"], x["operation_id"]) for x in lot] == [("4", first["operations"][0]["id"])]

    # The second runs 20 minutes (the first's end moved back so the two do not overlap), counts 3,
    # pauses, and the planner completes the order by hand: its lot is made then.
    second_run = ms.ok(api.get(f"/api/v1/machines/{m['id']}/run", headers=owner.headers))["id"]
    quality.backdate(app_engine, t, "operation_runs", first_run, "ended_at", 20)
    quality.backdate(app_engine, t, "operation_runs", second_run, "started_at", 20)
    quality.count(app_engine, t, m["id"], good=3, minute=quality.ago(10))
    ms.ok(ms.scan(api, owner, m, code="S-100", quantity="3"), 201)
    ms.ok(api.post(f"/api/v1/machines/{m['id']}/run/pause", json={}, headers=owner.headers))
    assert _lots_of(api, owner, second) == []  # a pause makes no lot
    r = order_support.set_status(api, owner, second["id"], "completed")
    assert r.status_code == 200, r.text
    made = _lots_of(api, owner, second)
    assert [(x["quantity"], x["job_id"]) for x in made] == [("3", second["id"])]
    back = ms.trace(api, owner, "backward", made[0]["id"])
    assert {d["lot_number"] for d in back["details"]} == {made[0]["number"], "S-100"}
    audit = order_support.audits(superuser_engine, t, second["id"])
    assert any((a.get("after") or {}).get("lot", {}).get("number") == made[0]["number"] for a in audit), audit


def test_trace_shows_inspections_and_nonconformances(api, owner, app_engine, tmp_path) -> None:
    s = _shop(api, owner, app_engine)
    m = s["machines"][0]
    bracket = ms.routed_product(api, owner, app_engine, m, "BRK-4", "Bracket")
    ms.bom(api, owner, bracket["id"], [(s["steel"]["id"], "1", "0")])
    plan = quality.plan(api, owner, name="Bracket final", machine_id=m["id"])
    assert quality.release(api, owner, plan["id"]).status_code == 200
    ver = quality.get_version(api, owner, plan["id"])
    order = _start(api, owner, m, bracket)
    ms.ok(ms.scan(api, owner, m, code="S-100"), 201)
    r = quality.inspect(api, owner, m["id"], plan["id"], ver, passed=False, defect="Burr")
    assert r.status_code == 201, r.text
    ms.ok(_complete(api, owner, m, 6))
    made = _lots_of(api, owner, order)[0]
    nc_lot = ms.ok(api.post(NC, json={"machine_id": m["id"], "lot_id": s["steel_lot"]["id"], "quantity": 2,
                                      "description": "Scale on the steel"}, headers=owner.headers), 201)
    nc_order = ms.ok(api.post(NC, json={"machine_id": m["id"], "order_id": order["id"], "quantity": 1,
                                        "description": "Bent flange"}, headers=owner.headers), 201)
    other = ms.ok(api.post(NC, json={"machine_id": m["id"], "quantity": 1, "description": "Elsewhere"},
                           headers=owner.headers), 201)

    fwd = ms.trace(api, owner, "forward", "S-100")
    assert [(i["plan_name"], i["result"], i["order_number"], i["lot_ids"]) for i in fwd["inspections"]] == [
        ("Bracket final", "fail", order["job_number"], [made["id"]])]
    ncs = {n["id"]: n for n in fwd["nonconformances"]}
    assert set(ncs) == {nc_lot["id"], nc_order["id"]} and other["id"] not in ncs
    assert ncs[nc_lot["id"]]["lot_ids"] == [s["steel_lot"]["id"]]
    assert ncs[nc_lot["id"]]["lot_number"] == "S-100"
    assert (ncs[nc_order["id"]]["lot_ids"], ncs[nc_order["id"]]["order_number"]) == ([made["id"]],
                                                                                      order["job_number"])
    assert ncs[nc_order["id"]]["code"].startswith("NC-")
    # Backward from the finished lot: the same records (the steel NC through the input lot).
    back = ms.trace(api, owner, "backward", made["number"])
    assert {n["id"] for n in back["nonconformances"]} == {nc_lot["id"], nc_order["id"]}
    assert len(back["inspections"]) == 1
    # The trace report lists them too, and marks the lots they touch in the tree.
    r = api.get("/api/v1/reports/trace", params={"lot": "S-100", "direction": "forward", "format": "json"},
                headers=owner.headers)
    assert r.status_code == 200, r.text
    sections = {x["key"]: x for x in r.json()["sections"]}
    assert [(x["plan"], x["result"], x["lots"]) for x in sections["inspections"]["rows"]] == [
        ("Bracket final", "fail", made["number"])]
    assert {x["nc"] for x in sections["nonconformances"]["rows"]} == {nc_lot["code"], nc_order["code"]}
    marks = {x["lot"].strip(): x["quality"] for x in sections["tree"]["rows"]}
    assert marks["S-100"] == f"{nc_lot['code']} open"
    assert marks[made["number"]] == f"{nc_order['code']} open; 1 inspection(s), 1 failed"
    pdf = api.get("/api/v1/reports/trace", params={"lot": "S-100", "direction": "forward", "format": "pdf"},
                  headers=owner.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "trace.pdf").write_bytes(pdf.content)  # to look at: pdftoppm -png
    # A supplier lot nobody made and no NC names: no quality records.
    lone = ms.lot(api, owner, s["steel"]["id"], number="S-200")
    empty = ms.trace(api, owner, "forward", lone["number"])
    assert (empty["inspections"], empty["nonconformances"]) == ([], [])


def test_a_serialized_product_gets_a_serial_per_part_and_its_label_scans_by_serial(api, owner, app_engine) -> None:
    s = _shop(api, owner, app_engine, machines=2)
    m1, m2 = s["machines"]
    ms.ok(api.put(f"{ms.M}/lot-pattern", json={"lot_pattern": "{item}-{seq:03}"}, headers=owner.headers))
    pump = ms.routed_product(api, owner, app_engine, m1, "PMP-1", "Pump")
    pump_item = ms.item(api, owner, number="PMP-1", name="Pump", kind="product", product_id=pump["id"],
                        serialized=True, gtin=SER_GTIN)
    ms.bom(api, owner, pump["id"], [(s["steel"]["id"], "1", "0")])
    # Someone entered a serial the first lot would number: that completion is refused, and nothing stays.
    ms.lot(api, owner, pump_item["id"], number="OLD-1", serials=["PMP-1-001-0002"])
    first = _start(api, owner, m1, pump)
    ms.ok(ms.scan(api, owner, m1, code="S-100"), 201)
    body = problem(_complete(api, owner, m1, 3), 409, "serial_taken", "serials")
    assert "PMP-1-001" in body["detail"]
    assert _lots_of(api, owner, first) == []
    ms.ok(api.put(f"{ms.M}/lot-pattern", json={"lot_pattern": "{item}-B{seq:03}"}, headers=owner.headers))
    ms.ok(_complete(api, owner, m1, 3))
    lot = _lots_of(api, owner, first)[0]
    assert (lot["number"], lot["quantity"]) == ("PMP-1-B001", "3")
    assert lot["serials"] == ["PMP-1-B001-0001", "PMP-1-B001-0002", "PMP-1-B001-0003"]
    # Given by hand, one serial per part made.
    problem(api.post(f"{ms.M}/operations/{first['operations'][0]['id']}/output", headers=owner.headers,
                     json={"quantity": "2", "serials": ["X-1"]}), 422, "quantity_invalid", "serials")

    # A skid of pumps: the pump's label carries GTIN and serial, no lot; the serial finds its lot.
    skid = ms.routed_product(api, owner, app_engine, m2, "SKD-1", "Pump skid")
    ms.bom(api, owner, skid["id"], [(pump_item["id"], "1", "0")])
    second = _start(api, owner, m2, skid, quantity=1)
    problem(ms.scan(api, owner, m2, code=f"(01){SER_GTIN}(21)PMP-9-9"), 404, "lot_not_found", "code")
    read = ms.ok(ms.scan(api, owner, m2, code=f"01{SER_GTIN}21PMP-1-B001-0002"), 201)
    assert (read["read"]["serial"], read["lot"]["number"]) == ("PMP-1-B001-0002", "PMP-1-B001")
    ms.ok(_complete(api, owner, m2, 1))
    made = _lots_of(api, owner, second)[0]
    assert made["serials"] == []  # the skid is not serialized
    back = ms.trace(api, owner, "backward", made["number"])
    assert {d["lot_number"] for d in back["details"]} == {made["number"], "PMP-1-B001", "S-100"}
