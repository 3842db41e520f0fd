"""A job import links product numbers to products and gives each job its routing's operations."""

from __future__ import annotations

from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from tests.onboarding.support import csv_bytes, errors_by_row, jobs_of, upload
from tests.orders import order_support as support
from tests.orders import runs_plant
from tests.production import plant

HEADER = ["Job", "Part", "Qty", "Due", "Machine", "Status"]


def test_import_links_products_and_copies_their_routing(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    p = support.product(app_engine, owner.tenant_id, [(10, "Cut", [(m["id"], "12", 1)]),
                                                      (20, "Bend", [(m["id"], "6", 2)])], number="P-100")
    support.product(app_engine, owner.tenant_id, [], number="P-OLD", status="obsolete")
    nowhere = support.product(app_engine, owner.tenant_id, [], number="P-LINE")
    empty_line = plant.line(api, owner, shop["site"]["id"])
    with tenant_transaction(app_engine, owner.tenant_id) as conn:
        op = conn.execute(text("insert into routing_operations (tenant_id, product_id, seq, name) "
                               "values (:t, :p, 10, 'Mill') returning id"),
                          {"t": owner.tenant_id, "p": nowhere["id"]}).scalar_one()
        conn.execute(text("insert into routing_resources (tenant_id, operation_id, line_id, cycle_seconds) "
                          "values (:t, :o, :l, 5)"), {"t": owner.tenant_id, "o": op, "l": empty_line["id"]})
    data = csv_bytes([HEADER, ["J-1", "P-100", "40", "2026-09-01", "", "released"],
                      ["J-2", "Free text part", "5", "2026-09-02", m["code"], ""],
                      ["J-3", "P-OLD", "5", "2026-09-03", "", ""],
                      ["J-4", "P-OLD", "5", "2026-09-04", "", "done"],
                      ["J-5", "P-LINE", "5", "2026-09-05", "", ""]])
    preview = upload(api, owner, data).json()
    assert errors_by_row(preview) == {4: [("product", "product_obsolete")], 6: [("product", "routing_without_machine")]}
    assert (preview["valid_rows"], preview["products_linked"]) == (3, 2)  # J-4 (done) keeps its obsolete product
    done = upload(api, owner, data, dry_run=False, skip_invalid=True).json()
    assert (done["imported"], done["job_numbers"]) == (3, ["J-1", "J-2", "J-4"])
    jobs = {j["job_number"]: j for j in jobs_of(api, owner)}
    assert (jobs["J-1"]["product_id"], jobs["J-2"]["product_id"]) == (p["id"], None)
    one = api.get(f"/api/v1/orders/{jobs['J-1']['id']}", headers=owner.headers).json()
    assert [(o["seq"], o["name"], o["quantity"], o["status"], o["machine_id"]) for o in one["operations"]] == [
        (10, "Cut", 40, "released", m["id"]), (20, "Bend", 40, "released", m["id"])]
    assert one["operations"][1]["allowed"][0]["parts_per_cycle"] == 2
    two = api.get(f"/api/v1/orders/{jobs['J-2']['id']}", headers=owner.headers).json()
    assert [(o["seq"], o["name"], o["allowed"], o["machine_id"], o["status"]) for o in two["operations"]] == [
        (10, "Production", [], m["id"], "planned")]
    four = api.get(f"/api/v1/orders/{jobs['J-4']['id']}", headers=owner.headers).json()
    assert (four["status"], [o["status"] for o in four["operations"]]) == ("completed", ["completed"])
