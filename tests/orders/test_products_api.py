"""Products and routings over HTTP: paging, edits, refusals naming the field, audit."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from sqlalchemy import insert, text

from factoryos.db.tenant import tenant_transaction
from factoryos.schema.jobs import jobs
from tests.accounts import join, new_company
from tests.production import plant
from tests.production.plant import problem

BASE = "/api/v1/products"


def _product(api, who, number: str, **over) -> dict:
    r = api.post(BASE, json={"number": number, "name": f"Part {number}", **over}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _audits(engine, tenant: str, entity: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            text("select action, entity_id, before, after from audit_log where tenant_id = :t and entity_type = :e "
                 "order by seq"), {"t": tenant, "e": entity}).mappings()]


def test_products_page_by_number_search_edit_and_delete(api, owner, superuser_engine) -> None:
    for number in ("P-3", "P-1", "X-2"):
        _product(api, owner, number)
    first = api.get(BASE, params={"limit": 2}, headers=owner.headers).json()
    assert [p["number"] for p in first["items"]] == ["P-1", "P-3"] and first["next_cursor"]
    rest = api.get(BASE, params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers).json()
    assert [p["number"] for p in rest["items"]] == ["X-2"] and rest["next_cursor"] is None
    found = api.get(BASE, params={"q": "part x"}, headers=owner.headers).json()["items"]
    assert [p["number"] for p in found] == ["X-2"]
    problem(api.get(BASE, params={"cursor": "nonsense"}, headers=owner.headers), 422, "invalid_cursor", "cursor")

    x2 = found[0]
    assert (x2["unit"], x2["status"], x2["operation_count"]) == ("pcs", "active", 0)
    problem(api.post(BASE, json={"number": " X-2 ", "name": "Again"}, headers=owner.headers), 409,
            "product_number_taken", "number")
    r = api.patch(f"{BASE}/{x2['id']}", json={"status": "obsolete", "unit": "kg"}, headers=owner.headers)
    assert r.status_code == 200 and (r.json()["status"], r.json()["unit"]) == ("obsolete", "kg")
    assert [p["number"] for p in api.get(BASE, params={"status": "obsolete"}, headers=owner.headers).json()["items"]
            ] == ["X-2"]
    problem(api.patch(f"{BASE}/{x2['id']}", json={"number": "P-1"}, headers=owner.headers), 409,
            "product_number_taken", "number")
    problem(api.patch(f"{BASE}/{x2['id']}", json={"name": None}, headers=owner.headers), 422, "null_not_allowed", "name")

    assert api.delete(f"{BASE}/{x2['id']}", headers=owner.headers).status_code == 204
    problem(api.get(f"{BASE}/{x2['id']}", headers=owner.headers), 404, "product_not_found")
    audits = _audits(superuser_engine, owner.tenant_id, "product")
    assert [a["action"] for a in audits] == ["create"] * 3 + ["update", "delete"]
    assert audits[3]["before"]["status"] == "active" and audits[3]["after"]["status"] == "obsolete"
    assert audits[4]["entity_id"] == x2["id"] and audits[4]["before"]["routing"] == []


def test_a_product_an_order_uses_is_not_deleted(api, owner, app_engine) -> None:
    used = _product(api, owner, "P-USED")
    tenant = UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        conn.execute(insert(jobs).values(tenant_id=tenant, job_number="J-1", product="P-USED", quantity=5,
                                         due_date=date(2026, 9, 1), product_id=UUID(used["id"])))
    body = problem(api.delete(f"{BASE}/{used['id']}", headers=owner.headers), 409, "product_in_use", "product_id")
    assert "obsolete" in body["detail"]
    assert api.get(f"{BASE}/{used['id']}", headers=owner.headers).status_code == 200


def test_operators_view_planners_edit_other_companies_see_nothing(api, owner) -> None:
    product = _product(api, owner, "P-1")
    operator = join(api, owner, "operator")
    assert api.get(BASE, headers=operator.headers).json()["items"][0]["number"] == "P-1"
    problem(api.post(BASE, json={"number": "P-2", "name": "n"}, headers=operator.headers), 403, "permission_denied")
    problem(api.put(f"{BASE}/{product['id']}/routing", json={"operations": []}, headers=operator.headers), 403,
            "permission_denied")
    stranger = new_company(api)
    assert api.get(BASE, headers=stranger.headers).json()["items"] == []
    problem(api.get(f"{BASE}/{product['id']}/routing", headers=stranger.headers), 404, "product_not_found")


@pytest.fixture()
def shop(api, owner) -> dict:
    site = plant.site(api, owner)
    line = plant.line(api, owner, site["id"], code="INJ")
    return {"site": site, "line": line,
            "press": plant.machine(api, owner, site["id"], code="PRESS-1"),
            "mould_a": plant.machine(api, owner, site["id"], code="MOULD-A", line_id=line["id"]),
            "mould_b": plant.machine(api, owner, site["id"], code="MOULD-B", line_id=line["id"]),
            "product": _product(api, owner, "P-100")}


def test_routing_replaced_whole_and_read_back_with_codes(api, owner, shop, superuser_engine) -> None:
    url = f"{BASE}/{shop['product']['id']}/routing"
    assert api.get(url, headers=owner.headers).json() == {
        "product_id": shop["product"]["id"], "product_number": "P-100", "operations": []}
    body = {"operations": [
        {"seq": 20, "name": "Mould", "setup_seconds": 1800,
         "resources": [{"line_id": shop["line"]["id"], "rate_per_hour": 720, "parts_per_cycle": 2}]},
        {"seq": 10, "name": " Press ", "resources": [{"machine_id": shop["press"]["id"], "cycle_seconds": "12.5"}]}]}
    r = api.put(url, json=body, headers=owner.headers)
    assert r.status_code == 200, r.text
    ops = r.json()["operations"]
    assert [(o["seq"], o["name"], o["setup_seconds"]) for o in ops] == [(10, "Press", 0), (20, "Mould", 1800)]
    press, = ops[0]["resources"]
    assert (press["machine_code"], press["line_id"], press["cycle_seconds"], press["rate_per_hour"],
            press["parts_per_cycle"]) == ("PRESS-1", None, 12.5, 288, 1)
    mould, = ops[1]["resources"]
    # 720 parts an hour, two per cycle: 360 cycles an hour, 10 s each.
    assert (mould["line_code"], mould["machine_id"], mould["cycle_seconds"], mould["rate_per_hour"]) == (
        "INJ", None, 10, 720)
    assert api.get(url, headers=owner.headers).json() == r.json()
    assert api.get(f"{BASE}/{shop['product']['id']}", headers=owner.headers).json()["operation_count"] == 2

    again = api.put(url, json={"operations": body["operations"][1:]}, headers=owner.headers).json()
    assert [o["seq"] for o in again["operations"]] == [10]
    assert api.put(url, json={"operations": []}, headers=owner.headers).json()["operations"] == []
    audits = _audits(superuser_engine, owner.tenant_id, "product_routing")
    assert [len(a["after"]["operations"]) for a in audits] == [2, 1, 0]
    assert audits[1]["before"] == r.json() and audits[0]["before"]["operations"] == []


def _op(resources: list[dict], seq: int = 10, **over) -> dict:
    return {"seq": seq, "name": "Press", "resources": resources, **over}


BAD = [
    ("zero cycle", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5},
                                   {"machine_id": s["mould_a"]["id"], "cycle_seconds": 0}])],
     "operations[0].resources[1].cycle_seconds", "invalid_cycle_time"),
    ("negative cycle", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": -3}])],
     "operations[0].resources[0].cycle_seconds", "invalid_cycle_time"),
    ("cycle over 24 h", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 86400.5}])],
     "operations[0].resources[0].cycle_seconds", "invalid_cycle_time"),
    ("zero rate", lambda s: [_op([{"line_id": s["line"]["id"], "rate_per_hour": 0}])],
     "operations[0].resources[0].rate_per_hour", "invalid_cycle_time"),
    ("cycle and rate", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5, "rate_per_hour": 5}])],
     "operations[0].resources[0].rate_per_hour", "invalid_cycle_time"),
    ("zero parts per cycle", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5,
                                              "parts_per_cycle": 0}])],
     "operations[0].resources[0].parts_per_cycle", "invalid_parts_per_cycle"),
    ("duplicate seq", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5}]),
                                 _op([{"machine_id": s["press"]["id"], "cycle_seconds": 5}])],
     "operations[1].seq", "duplicate_seq"),
    ("seq zero", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5}], seq=0)],
     "operations[0].seq", "invalid_seq"),
    ("negative setup", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5}], setup_seconds=-1)],
     "operations[0].setup_seconds", "invalid_setup_time"),
    ("blank name", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5}], name="  ")],
     "operations[0].name", "invalid_name"),
    ("no resources", lambda s: [_op([])], "operations[0].resources", "required"),
    ("machine and line", lambda s: [_op([{"machine_id": s["press"]["id"], "line_id": s["line"]["id"],
                                          "cycle_seconds": 5}])],
     "operations[0].resources[0].machine_id", "invalid_resource"),
    ("unknown machine", lambda s: [_op([{"machine_id": "00000000-0000-4000-8000-000000000001", "cycle_seconds": 5}])],
     "operations[0].resources[0].machine_id", "machine_not_found"),
    ("another company's machine", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5},
                                                   {"machine_id": s["foreign"]["id"], "cycle_seconds": 5}])],
     "operations[0].resources[1].machine_id", "machine_not_found"),
    ("unknown line", lambda s: [_op([{"line_id": "00000000-0000-4000-8000-000000000001", "cycle_seconds": 5}])],
     "operations[0].resources[0].line_id", "line_not_found"),
    ("machine twice", lambda s: [_op([{"machine_id": s["press"]["id"], "cycle_seconds": 5},
                                      {"machine_id": s["press"]["id"], "cycle_seconds": 6}])],
     "operations[0].resources[1].machine_id", "duplicate_resource"),
]


def test_bad_routings_are_refused_naming_the_field_and_change_nothing(api, owner, shop) -> None:
    stranger = new_company(api)
    shop["foreign"] = plant.machine(api, stranger, plant.site(api, stranger)["id"])
    url = f"{BASE}/{shop['product']['id']}/routing"
    kept = {"operations": [_op([{"machine_id": shop["press"]["id"], "cycle_seconds": 7}])]}
    assert api.put(url, json=kept, headers=owner.headers).status_code == 200
    before = api.get(url, headers=owner.headers).json()
    for label, make, field, code in BAD:
        body = problem(api.put(url, json={"operations": make(shop)}, headers=owner.headers), 422, code, field)
        assert body["errors"][0]["field"] == field, label
    assert api.get(url, headers=owner.headers).json() == before
    # Every problem is listed, the first leads.
    body = problem(api.put(url, json={"operations": [
        _op([{"machine_id": shop["press"]["id"], "cycle_seconds": 0, "parts_per_cycle": 1}], seq=-1)]},
        headers=owner.headers), 422, "invalid_seq", "operations[0].seq")
    assert [e["field"] for e in body["errors"]] == ["operations[0].seq", "operations[0].resources[0].cycle_seconds"]
    problem(api.put(f"{BASE}/00000000-0000-4000-8000-000000000001/routing", json={"operations": []},
                    headers=owner.headers), 404, "product_not_found")


def test_wrong_types_in_a_routing_are_named_the_same_way(api, owner, shop) -> None:
    url = f"{BASE}/{shop['product']['id']}/routing"
    body = problem(api.put(url, json={"operations": [_op([{"machine_id": shop["press"]["id"],
                                                            "cycle_seconds": "fast"}])]}, headers=owner.headers),
                   422, "validation_failed", "operations[0].resources[0].cycle_seconds")
    assert body["errors"][0]["field"] == "operations[0].resources[0].cycle_seconds"
    problem(api.put(url, json={"operations": [_op([])], "extra": 1}, headers=owner.headers), 422,
            "validation_failed", "extra")
