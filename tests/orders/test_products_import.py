"""Product and routing imports over HTTP: previews with per-row errors, all or nothing, skip_invalid."""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import text

from tests.onboarding.support import csv_bytes, errors_by_row, import_body, xlsx_bytes
from tests.production import plant
from tests.production.plant import problem

PRODUCTS = "/api/v1/products/import"
ROUTINGS = "/api/v1/products/routings/import"


def _send(api, who, url: str, data: bytes, file_name: str = "file.csv", **flags):
    return api.post(url, json=import_body(data, file_name, **flags), headers=who.headers)


def _numbers(api, who) -> dict[str, dict]:
    r = api.get("/api/v1/products", params={"limit": 500}, headers=who.headers)
    return {p["number"]: p for p in r.json()["items"]}


def _audits(engine, tenant: str, entity: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            text("select action, after from audit_log where tenant_id = :t and entity_type = :e order by seq"),
            {"t": tenant, "e": entity}).mappings()]


def test_products_preview_create_update_and_row_errors(api, owner, superuser_engine) -> None:
    assert api.post("/api/v1/products", json={"number": "P-1", "name": "Old name"},
                    headers=owner.headers).status_code == 201
    assert api.post("/api/v1/products", json={"number": "P-2", "name": "Bracket"},
                    headers=owner.headers).status_code == 201
    data = csv_bytes([["Part number", "Description", "UoM", "Status"],
                      ["P-1", "New name", "", ""],
                      ["P-2", "Bracket", "", "active"],
                      ["P-3", "Hinge", "kg", "obsolete"],
                      ["P-3", "Hinge again", "", ""],
                      ["P-4", "", "", "gone"]], delimiter=";")
    preview = _send(api, owner, PRODUCTS, data).json()
    assert (preview["dry_run"], preview["delimiter"], preview["total_rows"], preview["invalid_rows"]) == (
        True, ";", 5, 2)
    assert [c["field"] for c in preview["columns"]] == ["number", "name", "unit", "status"]
    assert [(r["number"], r["action"]) for r in preview["rows"]] == [
        ("P-1", "update"), ("P-2", "unchanged"), ("P-3", "create"), ("P-3", None), ("P-4", None)]
    assert errors_by_row(preview) == {5: [("number", "duplicate_in_file")],
                                      6: [("status", "invalid_status"), ("name", "required")]}
    assert _numbers(api, owner)["P-1"]["name"] == "Old name"  # a preview writes nothing

    refused = _send(api, owner, PRODUCTS, data, dry_run=False)
    body = problem(refused, 422, "import_has_errors", "content")
    assert (body["invalid_rows"], body["error_count"]) == (2, 3)
    assert _audits(superuser_engine, owner.tenant_id, "product_import") == []

    done = _send(api, owner, PRODUCTS, data, dry_run=False, skip_invalid=True).json()
    assert (done["created"], done["updated"], done["skipped"], done["product_numbers"]) == (1, 1, 2, ["P-3", "P-1"])
    now = _numbers(api, owner)
    assert sorted(now) == ["P-1", "P-2", "P-3"]
    assert (now["P-1"]["name"], now["P-1"]["unit"]) == ("New name", "pcs")
    assert (now["P-3"]["unit"], now["P-3"]["status"]) == ("kg", "obsolete")
    audit, = _audits(superuser_engine, owner.tenant_id, "product_import")
    assert audit["action"] == "create" and audit["after"]["created"] == 1 and audit["after"]["updated"] == 1


def test_products_xlsx_with_a_title_row_and_german_headers(api, owner) -> None:
    data = xlsx_bytes([["Artikelnummer", "Bezeichnung", "Einheit"], [4711, "Welle", "Stk"], ["4712", "Flansch", None]],
                      title_rows=1)
    body = _send(api, owner, PRODUCTS, data, "Artikel.xlsx", dry_run=False).json()
    assert (body["format"], body["header_row"], body["created"]) == ("xlsx", 2, 2)
    assert {n: p["unit"] for n, p in _numbers(api, owner).items()} == {"4711": "Stk", "4712": "pcs"}
    problem(_send(api, owner, PRODUCTS, csv_bytes([["Title", "Colour"], ["x", "y"]])), 422, "missing_columns",
            "content")


HEADER = ["Product", "Op", "Operation", "Machine", "Line", "Cycle (s)", "Rate per hour", "Cavities", "Setup (s)"]


def test_routings_replace_per_product_and_name_unknowns_per_row(api, owner, superuser_engine) -> None:
    site = plant.site(api, owner)
    line = plant.line(api, owner, site["id"], code="INJ")
    plant.machine(api, owner, site["id"], code="MOULD-A", line_id=line["id"])
    press = plant.machine(api, owner, site["id"], code="PRESS-1")
    for number in ("P-1", "P-2"):
        assert api.post("/api/v1/products", json={"number": number, "name": number},
                        headers=owner.headers).status_code == 201
    p2 = _numbers(api, owner)["P-2"]
    kept = {"operations": [{"seq": 5, "name": "Cut", "resources": [{"machine_id": press["id"], "cycle_seconds": 3}]}]}
    assert api.put(f"/api/v1/products/{p2['id']}/routing", json=kept, headers=owner.headers).status_code == 200
    rows = [HEADER,
            ["P-1", "10", "Press", "press-1", "", "12,5", "", "", "600"],
            ["P-1", "20", "Mould", "", "INJ", "", "720", "2", ""],
            ["P-1", "20", "Mould", "PRESS-1", "", "30", "", "", ""],
            ["P-2", "10", "Press", "PRESS-9", "", "10", "", "", ""],
            ["P-2", "20", "Mould", "", "LINE-X", "", "100", "", ""],
            ["P-9", "10", "Press", "PRESS-1", "", "10", "", "", ""],
            ["P-2", "30", "Pack", "PRESS-1", "", "0", "", "0", ""]]
    preview = _send(api, owner, ROUTINGS, csv_bytes(rows, delimiter=";")).json()
    assert errors_by_row(preview) == {5: [("machine_code", "unknown_machine")], 6: [("line_code", "unknown_line")],
                                      7: [("product_number", "unknown_product")],
                                      8: [("parts_per_cycle", "invalid_parts_per_cycle")]}
    assert preview["routings"] == 1 and preview["rows"][1]["cycle_seconds"] == 10  # 720/h, 2 per cycle
    assert preview["rows"][0] | {"row": 0} == {
        "row": 0, "valid": True, "product_number": "P-1", "seq": 10, "operation": "Press", "machine_code": "PRESS-1",
        "line_code": None, "cycle_seconds": 12.5, "parts_per_cycle": 1, "setup_seconds": 600.0}
    problem(_send(api, owner, ROUTINGS, csv_bytes(rows, delimiter=";"), dry_run=False), 422, "import_has_errors",
            "content")

    done = _send(api, owner, ROUTINGS, csv_bytes(rows, delimiter=";"), dry_run=False, skip_invalid=True).json()
    assert (done["routings"], done["skipped"], done["product_numbers"]) == (1, 4, ["P-1"])
    routing = api.get(f"/api/v1/products/{_numbers(api, owner)['P-1']['id']}/routing", headers=owner.headers).json()
    assert [(o["seq"], o["name"], o["setup_seconds"], [(r["machine_code"] or r["line_code"], r["cycle_seconds"],
                                                       r["parts_per_cycle"]) for r in o["resources"]])
            for o in routing["operations"]] == [
        (10, "Press", 600, [("PRESS-1", 12.5, 1)]), (20, "Mould", 0, [("INJ", 10, 2), ("PRESS-1", 30, 1)])]
    # P-2 had invalid rows: its routing stays as it was, never half imported.
    assert [o["name"] for o in api.get(f"/api/v1/products/{p2['id']}/routing",
                                       headers=owner.headers).json()["operations"]] == ["Cut"]
    audit, = _audits(superuser_engine, owner.tenant_id, "routing_import")
    assert audit["after"]["routings"] == 1 and audit["after"]["product_numbers"] == ["P-1"]


def test_routing_rows_of_one_operation_must_agree(api, owner) -> None:
    site = plant.site(api, owner)
    plant.machine(api, owner, site["id"], code="M-1")
    plant.machine(api, owner, site["id"], code="M-2")
    assert api.post("/api/v1/products", json={"number": "P-1", "name": "n"}, headers=owner.headers).status_code == 201
    rows = [["Product", "Seq", "Operation", "Machine", "Cycle"],
            ["P-1", "10", "Press", "M-1", "5"],
            ["P-1", "10", "Punch", "M-2", "5"],
            ["P-1", "20", "Press", "M-1", ""],
            ["P-1", "30", "Press", "M-1", "100000"],
            ["P-1", "40", "Press", "M-1", "5"],
            ["P-1", "40", "Press", "m-1", "6"]]
    body = _send(api, owner, ROUTINGS, csv_bytes(rows)).json()
    assert errors_by_row(body) == {3: [("operation", "operation_mismatch")], 4: [("cycle_seconds", "invalid_cycle_time")],
                                   5: [("cycle_seconds", "invalid_cycle_time")],
                                   7: [("machine_code", "duplicate_resource")]}
    problem(_send(api, owner, ROUTINGS, csv_bytes(rows), dry_run=False, skip_invalid=True), 422, "nothing_to_import",
            "content")
    problem(_send(api, owner, ROUTINGS, csv_bytes([["Product", "Seq", "Operation"], ["P-1", "1", "x"]])), 422,
            "missing_columns", "content")


def test_routings_from_xlsx_take_typed_cells(api, owner) -> None:
    site = plant.site(api, owner)
    plant.machine(api, owner, site["id"], code="M-1")
    assert api.post("/api/v1/products", json={"number": "4711", "name": "n"}, headers=owner.headers).status_code == 201
    data = xlsx_bytes([["Artikelnummer", "Arbeitsgang", "Bezeichnung", "Arbeitsplatz", "Taktzeit", "Kavitäten",
                        "Rüstzeit"],
                       [4711, 10.0, "Spritzen", "M-1", 12.75, 4.0, 900],
                       [4711, 20.5, "Prüfen", "M-1", 3, 1, 0]], title_rows=2)
    body = _send(api, owner, ROUTINGS, data, "Arbeitsplan.xlsx").json()
    assert body["header_row"] == 3
    assert [(r["seq"], r["cycle_seconds"], r["parts_per_cycle"], r["setup_seconds"]) for r in body["rows"]] == [
        (10, 12.75, 4, 900.0), (None, 3.0, 1, 0.0)]
    assert errors_by_row(body) == {5: [("seq", "invalid_seq")]}


def test_concurrent_routing_imports_and_edits_never_interleave(api, owner, live_server) -> None:
    site = plant.site(api, owner)
    machine = plant.machine(api, owner, site["id"], code="M-1")
    product = api.post("/api/v1/products", json={"number": "P-1", "name": "n"}, headers=owner.headers).json()
    rows = [["Product", "Op", "Operation", "Machine", "Cycle"]] + [["P-1", str(seq), f"Op {seq}", "M-1", "5"]
                                                                   for seq in range(10, 400, 10)]
    imported = import_body(csv_bytes(rows), dry_run=False)
    edited = {"operations": [{"seq": 1, "name": "Only", "resources": [{"machine_id": machine["id"],
                                                                      "cycle_seconds": 2}]}]}
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(4)

    def send(method: str, url: str, body: dict) -> None:
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            barrier.wait()
            answers.append(client.request(method, url, json=body, headers=owner.headers))

    jobs = [("POST", ROUTINGS, imported), ("PUT", f"/api/v1/products/{product['id']}/routing", edited)] * 2
    threads = [threading.Thread(target=send, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    seqs = [o["seq"] for o in api.get(f"/api/v1/products/{product['id']}/routing",
                                      headers=owner.headers).json()["operations"]]
    assert seqs in ([1], list(range(10, 400, 10)))  # one whole routing, never a mix
