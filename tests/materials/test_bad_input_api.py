"""The issue's bad input, over the real API: refused with the reason, at the field."""

from __future__ import annotations

from tests.accounts import join
from tests.materials import materials_support as ms
from tests.orders import order_support, runs_plant
from tests.production.plant import problem

GTIN = "09506000134352"


def _running(api, owner, app_engine):
    """A machine running an order of HSG whose BOM holds steel only; steel and brass lots in stock."""
    shop = runs_plant.shop(api, owner, machines=1)
    m = shop["machines"][0]
    wh = ms.warehouse(api, owner, shop["site"]["id"])
    steel = ms.item(api, owner, number="RM-STEEL", unit="kg", gtin=GTIN, has_expiry=True)
    brass = ms.item(api, owner, number="RM-BRASS", name="Brass", unit="kg")
    hsg = ms.routed_product(api, owner, app_engine, m, "HSG-100", "Housing")
    ms.bom(api, owner, hsg["id"], [(steel["id"], "1", "0")])
    lots = {
        "good": ms.lot(api, owner, steel["id"], number="S-1", expires_on="2099-01-01"),
        "expired": ms.lot(api, owner, steel["id"], number="S-OLD", expires_on="2020-01-01"),
        "blocked": ms.lot(api, owner, steel["id"], number="S-BAD", expires_on="2099-01-01"),
        "brass": ms.lot(api, owner, brass["id"], number="B-1"),
    }
    for lot in lots.values():
        ms.receive(api, owner, lot["item_id"], lot["id"], "10", wh["id"])
    r = api.post(f"{ms.M}/lots/{lots['blocked']['id']}/status", json={"status": "blocked", "reason": "NC-17 cracks"},
                 headers=owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "blocked", r.text
    order = order_support.create(api, owner, product_id=hsg["id"], product="Housing", quantity=5)
    ms.ok(order_support.set_status(api, owner, order["id"], "released"))
    ms.ok(api.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": order["operations"][0]["id"]},
                   headers=owner.headers), 201)
    return {"machine": m, "wh": wh, "steel": steel, "brass": brass, "lots": lots, "hsg": hsg, "site": shop["site"]}


def test_scans_refused_at_the_terminal_with_the_reason(api, owner, app_engine) -> None:
    p = _running(api, owner, app_engine)
    m = p["machine"]
    body = problem(ms.scan(api, owner, m, code="B-1"), 409, "lot_not_on_bom", "code")
    assert "RM-BRASS" in body["detail"] and "RM-STEEL" in body["detail"]
    assert "2020-01-01" in problem(ms.scan(api, owner, m, code="S-OLD"), 409, "lot_expired", "code")["detail"]
    assert "NC-17" in problem(ms.scan(api, owner, m, code="S-BAD"), 409, "lot_blocked", "code")["detail"]
    # A label whose GTIN is another item's than the lot's.
    problem(ms.scan(api, owner, m, code="(01)09506000134369(10)B-1"), 409, "lot_wrong_item", "code")
    # The label's own expiry date counts too.
    problem(ms.scan(api, owner, m, code=f"01{GTIN}17200101" + "10S-1"), 409, "lot_expired", "code")
    # An identifier outside GS1's table is shown as read, never guessed; a dropped separator likewise.
    body = problem(ms.scan(api, owner, m, code=f"01{GTIN}10S-1<GS>8999ZZ"), 422, "scan_unknown_ai", "code")
    assert body["unknown"] == "8999ZZ" and "␝" in body["read"]
    problem(ms.scan(api, owner, m, code="NOPE-1"), 404, "lot_not_found", "code")
    # The good lot, with the group separator a scanner sends as "^]", and an AI the terminal only shows.
    r = ms.scan(api, owner, m, code=f"]C101{GTIN}10S-1^]240PART-9", quantity="3")
    assert r.status_code == 201, r.text
    assert r.json()["read"]["other"] == [{"ai": "240", "title": "ADDITIONAL ID", "value": "PART-9"}]
    assert [mv["quantity"] for mv in r.json()["movements"]] == ["3"]
    # More than the lot holds: refused, naming what is there.
    body = problem(ms.scan(api, owner, m, code="S-1", quantity="8"), 409, "insufficient_stock", "quantity")
    assert body["available"] == "7"


def test_stock_never_negative_unless_the_site_allows_it_then_flagged(api, owner, app_engine) -> None:
    p = _running(api, owner, app_engine)
    lot, wh = p["lots"]["brass"], p["wh"]
    scrap = {"kind": "scrap", "item_id": lot["item_id"], "lot_id": lot["id"], "from_location_id": wh["id"],
             "reason": "dropped"}
    body = problem(ms.move(api, owner, **scrap, quantity="12"), 409, "insufficient_stock", "quantity")
    assert body["available"] == "10"
    ms.ok(api.put(f"{ms.M}/sites/{p['site']['id']}/stock-policy", json={"allow_negative": True}, headers=owner.headers))
    mv = ms.ok(ms.move(api, owner, **scrap, quantity="12"), 201)
    assert mv["went_negative"] is True
    stock = ms.ok(api.get(f"{ms.M}/stock", params={"lot_id": lot["id"]}, headers=owner.headers))["items"]
    assert [(s["quantity"], s["negative"]) for s in stock] == [("-2", True)]


def test_movements_need_their_fields_and_permissions(api, owner, app_engine) -> None:
    p = _running(api, owner, app_engine)
    lot, wh, steel = p["lots"]["good"], p["wh"], p["steel"]
    problem(ms.move(api, owner, kind="adjustment", item_id=steel["id"], lot_id=lot["id"], quantity="-1",
                    to_location_id=wh["id"]), 422, "reason_required", "reason")
    problem(ms.move(api, owner, kind="receipt", item_id=steel["id"], quantity="1", to_location_id=wh["id"]),
            422, "lot_required", "lot_id")
    problem(ms.move(api, owner, kind="receipt", item_id=steel["id"], lot_id=lot["id"], quantity="1", unit="box",
                    to_location_id=wh["id"]), 422, "unit_unknown", "unit")
    problem(ms.move(api, owner, kind="issue", item_id=steel["id"], lot_id=lot["id"], quantity="1",
                    from_location_id=wh["id"]), 422, "operation_required", "operation_id")
    problem(ms.move(api, owner, kind="transfer", item_id=steel["id"], lot_id=p["lots"]["brass"]["id"], quantity="1",
                    from_location_id=wh["id"], to_location_id=wh["id"]), 422, "lot_wrong_item", "lot_id")
    operator = join(api, owner, "operator")
    problem(ms.move(api, operator, kind="adjustment", item_id=steel["id"], lot_id=lot["id"], quantity="-1",
                    to_location_id=wh["id"], reason="count"), 403, "permission_denied", "kind")
    problem(api.post(f"{ms.M}/items", json={"number": "X", "name": "X"}, headers=operator.headers), 403,
            "permission_denied")
    mv = ms.ok(ms.move(api, owner, kind="adjustment", item_id=steel["id"], lot_id=lot["id"], quantity="-1",
                       to_location_id=wh["id"], reason="stock count"), 201)
    assert (mv["quantity"], mv["reason"]) == ("-1", "stock count")


def test_bom_cycles_and_released_versions(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=1)
    m = shop["machines"][0]
    a = ms.routed_product(api, owner, app_engine, m, "A-1", "Frame")
    b = ms.routed_product(api, owner, app_engine, m, "B-1", "Bracket")
    c = ms.routed_product(api, owner, app_engine, m, "C-1", "Clip")
    ia, ib, ic = (ms.item(api, owner, number=x["number"], kind="product", product_id=x["id"]) for x in (a, b, c))
    steel = ms.item(api, owner, number="RM-1")
    ms.bom(api, owner, a["id"], [(ib["id"], "2", "0")])   # A contains B
    ms.bom(api, owner, b["id"], [(ic["id"], "1", "0")], release=False)  # B contains C (a draft counts)
    r = api.post(f"{ms.M}/products/{c['id']}/boms", json={"lines": [{"item_id": steel["id"], "quantity": "1"},
                                                                   {"item_id": ia["id"], "quantity": "1"}]},
                 headers=owner.headers)
    body = problem(r, 422, "bom_cycle", "lines.1.item_id")
    assert "C-1 → A-1 → B-1 → C-1" in body["detail"]
    problem(api.post(f"{ms.M}/products/{a['id']}/boms", json={"lines": [{"item_id": ia["id"], "quantity": "1"}]},
                     headers=owner.headers), 422, "bom_cycle", "lines.0.item_id")
    problem(api.post(f"{ms.M}/products/{c['id']}/boms", json={"lines": [
        {"item_id": steel["id"], "quantity": "1"}, {"item_id": steel["id"], "quantity": "2"}]},
        headers=owner.headers), 422, "bom_line_duplicate", "lines.1.item_id")
    # Released versions never change; a new draft is version 2, and releasing it obsoletes version 1.
    v1 = ms.ok(api.get(f"{ms.M}/products/{a['id']}/boms", headers=owner.headers))[0]
    problem(api.post(f"{ms.M}/boms/{v1['id']}/release", headers=owner.headers), 409, "bom_not_draft")
    problem(api.delete(f"{ms.M}/boms/{v1['id']}", headers=owner.headers), 409, "bom_not_draft")
    v2 = ms.bom(api, owner, a["id"], [(ib["id"], "3", "2.5"), (steel["id"], "0.25", "0")])
    assert (v2["version"], v2["status"]) == (2, "released")
    versions = ms.ok(api.get(f"{ms.M}/products/{a['id']}/boms", headers=owner.headers))
    assert [(v["version"], v["status"], [ln["quantity"] for ln in v["lines"]]) for v in versions] == [
        (2, "released", ["3", "0.25"]), (1, "obsolete", ["2"])]


def test_lot_numbers_from_the_company_pattern(api, owner) -> None:
    steel = ms.item(api, owner, number="RM-9")
    problem(api.put(f"{ms.M}/lot-pattern", json={"lot_pattern": "X{week}-{seq}"}, headers=owner.headers), 422,
            "lot_pattern_invalid", "lot_pattern")
    ms.ok(api.put(f"{ms.M}/lot-pattern", json={"lot_pattern": "{item}-{seq:03}"}, headers=owner.headers))
    ms.lot(api, owner, steel["id"], number="RM-9-002")  # entered by hand: the pattern skips it
    numbers = [ms.lot(api, owner, steel["id"])["number"] for _ in range(3)]
    assert numbers == ["RM-9-001", "RM-9-003", "RM-9-004"]
    problem(api.post(f"{ms.M}/lots", json={"item_id": steel["id"], "number": "RM-9-001"}, headers=owner.headers),
            409, "lot_number_taken", "number")
    problem(api.post(f"{ms.M}/lots", json={"item_id": steel["id"], "expires_on": "2030-01-01"}, headers=owner.headers),
            422, "lot_expiry_not_kept", "expires_on")


def test_lot_label_pdf_and_zpl(api, owner) -> None:
    steel = ms.item(api, owner, number="RM-LBL", name="Steel sheet", unit="kg", gtin=GTIN, has_expiry=True)
    lot = ms.lot(api, owner, steel["id"], number="S-100", expires_on="2030-01-31", supplier_lot="A-77")
    r = api.get(f"/api/v1/reports/lots/{lot['id']}/label", params={"format": "zpl"}, headers=owner.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.zebra.zpl"), r.text
    zpl = r.text
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    assert f"^BCN,80,Y,N,N,D^FD(01){GTIN}(17)300131(10)S-100^FS" in zpl
    # What the label encodes reads back through the terminal's scan parser.
    from factoryos.materials.gs1 import parse_scan
    read = parse_scan(f"(01){GTIN}(17)300131(10)S-100")
    assert (read.gtin, read.lot, str(read.expiry)) == (GTIN, "S-100", "2030-01-31")
    r = api.get(f"/api/v1/reports/lots/{lot['id']}/label", headers=owner.headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF"), r.text
    assert 'filename="lot-S-100.pdf"' in r.headers["content-disposition"]


def test_opening_stock_import_previews_row_errors_then_imports(api, owner) -> None:
    import base64

    shop = runs_plant.shop(api, owner, machines=1)
    wh = ms.warehouse(api, owner, shop["site"]["id"], code="WH-RAW")
    ms.item(api, owner, number="RM-PA66", unit="kg", has_expiry=True, units=[{"unit": "bag", "factor": "25"}])
    ms.item(api, owner, number="CMP-INS", unit="pcs")
    csv = ("Item;Lot;Location;Quantity;Unit;Supplier;Supplier lot;Expiry\n"
           "RM-PA66;PW-1;WH-RAW;4;bag;Polymer AG;P-77;2030-06-30\n"
           "CMP-INS;;WH-RAW;500;;;;\n"
           "RM-PA66;;WH-RAW;3;;;;\n"          # kept by lot: refused
           "NOPE;X;WH-RAW;1;;;;\n"            # unknown item
           "CMP-INS;;WH-9;-2;;;;\n"           # unknown location, quantity below zero
           "RM-PA66;PW-1;WH-RAW;25;kg;;;\n")  # the new lot again: into the same lot
    body = {"file_name": "stock.csv", "content": base64.b64encode(csv.encode()).decode()}
    preview = ms.ok(api.post(f"{ms.M}/stock/import", json=body, headers=owner.headers))
    assert (preview["dry_run"], preview["valid_rows"], preview["invalid_rows"]) == (True, 3, 3)
    assert [(e["row"], e["field"], e["code"]) for e in preview["errors"]] == [
        (4, "lot", "lot_required"), (5, "item", "item_not_found"), (6, "location", "location_not_found"),
        (6, "quantity", "quantity_invalid")]
    assert [r["action"] for r in preview["rows"]] == ["receive_new_lot", "receive", None, None, None, "receive"]
    body = problem(api.post(f"{ms.M}/stock/import", json=body | {"dry_run": False}, headers=owner.headers), 422,
                   "import_has_errors", "content")
    assert body["invalid_rows"] == 3
    done = ms.ok(api.post(f"{ms.M}/stock/import", json=body_ok(csv) | {"dry_run": False, "skip_invalid": True},
                          headers=owner.headers))
    assert (done["received"], done["lots_created"], done["skipped"]) == (3, 1, 3)
    stock = ms.ok(api.get(f"{ms.M}/stock", params={"location_id": wh["id"]}, headers=owner.headers))["items"]
    assert sorted((s["item_number"], s["lot_number"], s["quantity"]) for s in stock) == [
        ("CMP-INS", None, "500"), ("RM-PA66", "PW-1", "125")]


def body_ok(csv: str) -> dict:
    import base64

    return {"file_name": "stock.csv", "content": base64.b64encode(csv.encode()).decode()}


def test_more_scans_refused_quarantine_no_bom_no_run_and_unclear_labels(api, owner, app_engine) -> None:
    p = _running(api, owner, app_engine)
    m, steel = p["machine"], p["steel"]
    # An NC that quarantines the lot: the terminal refuses it, naming the NC.
    nc = ms.ok(api.post("/api/v1/nonconformances", headers=owner.headers, json={
        "machine_id": m["id"], "lot_id": p["lots"]["good"]["id"], "quantity": 1, "description": "Rust spots",
        "quarantine_lot": True}), 201)
    body = problem(ms.scan(api, owner, m, code="S-1"), 409, "lot_quarantine", "code")
    assert nc["code"] in body["detail"]
    # A label with a GTIN but no lot number; a lot number two items share (the GS1 label settles it).
    problem(ms.scan(api, owner, m, code=f"01{GTIN}"), 422, "scan_no_lot", "code")
    twin = ms.lot(api, owner, p["brass"]["id"], number="S-2")
    ms.receive(api, owner, twin["item_id"], twin["id"], "5", p["wh"]["id"])
    ms.receive(api, owner, steel["id"], ms.lot(api, owner, steel["id"], number="S-2", expires_on="2099-01-01")["id"],
               "5", p["wh"]["id"])
    problem(ms.scan(api, owner, m, code="S-2"), 422, "lot_ambiguous", "code")
    assert ms.scan(api, owner, m, code=f"01{GTIN}10S-2").status_code == 201
    # Nothing running on the machine.
    ms.ok(api.post(f"/api/v1/machines/{m['id']}/run/complete", json={"final_good": 0}, headers=owner.headers))
    problem(ms.scan(api, owner, m, code=f"01{GTIN}10S-2"), 409, "no_operation_running", "code")
    # An order whose product has no released bill of materials.
    bare = ms.routed_product(api, owner, app_engine, m, "BARE-1", "Bare part")
    order = order_support.create(api, owner, product_id=bare["id"], product="Bare part", quantity=5)
    ms.ok(order_support.set_status(api, owner, order["id"], "released"))
    ms.ok(api.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": order["operations"][0]["id"]},
                   headers=owner.headers), 201)
    problem(ms.scan(api, owner, m, code=f"01{GTIN}10S-2"), 409, "bom_missing", "code")


def test_an_item_is_the_catalog_s_material_and_opening_stock_comes_from_xlsx(api, owner) -> None:
    import base64
    import io
    import uuid

    from openpyxl import Workbook

    pa66 = ms.ok(api.post("/api/v1/catalog/materials", headers=owner.headers, json={
        "category": "resin", "manufacturer": f"Polymer-{uuid.uuid4().hex[:4]}", "name": "PA66 GF30"}), 201)
    press = ms.ok(api.post("/api/v1/catalog/machine-models", headers=owner.headers, json={
        "category": "press", "manufacturer": f"Arburg-{uuid.uuid4().hex[:4]}", "name": "470 S"}), 201)
    item = ms.item(api, owner, number="RM-PA66", unit="kg", catalog_entry_id=pa66["id"],
                   units=[{"unit": "bag", "factor": "25"}])
    assert item["catalog_entry_id"] == pa66["id"]
    # A machine model of the catalog is not a material.
    problem(api.post(f"{ms.M}/items", json={"number": "RM-X", "name": "X", "catalog_entry_id": press["id"]},
                     headers=owner.headers), 422, "catalog_entry_not_found", "catalog_entry_id")
    problem(api.post(f"{ms.M}/items", json={"number": "RM-Y", "name": "Y", "catalog_entry_id": str(uuid.uuid4())},
                     headers=owner.headers), 422, "catalog_entry_not_found", "catalog_entry_id")

    shop = runs_plant.shop(api, owner, machines=1)
    wh = ms.warehouse(api, owner, shop["site"]["id"], code="WH-RAW")
    book = Workbook()
    sheet = book.active
    for row in (["Item", "Lot", "Location", "Quantity", "Unit", "Supplier", "Supplier lot"],
                ["RM-PA66", "PW-9", "WH-RAW", 2, "bag", "Polymer AG", "P-1"],
                ["RM-PA66", "PW-9", "WH-9", 1, None, None, None]):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    body = {"file_name": "stock.xlsx", "content": base64.b64encode(buf.getvalue()).decode()}
    preview = ms.ok(api.post(f"{ms.M}/stock/import", json=body, headers=owner.headers))
    assert (preview["valid_rows"], [(e["row"], e["code"]) for e in preview["errors"]]) == (1, [(3, "location_not_found")])
    done = ms.ok(api.post(f"{ms.M}/stock/import", json=body | {"dry_run": False, "skip_invalid": True},
                          headers=owner.headers))
    assert (done["received"], done["lots_created"]) == (1, 1)
    stock = ms.ok(api.get(f"{ms.M}/stock", params={"location_id": wh["id"]}, headers=owner.headers))["items"]
    assert [(s["lot_number"], s["quantity"]) for s in stock] == [("PW-9", "50")]
