"""Manufacturing orders over HTTP: create from a routing, list, edit, delete, status by hand."""

from __future__ import annotations

from tests.accounts import join, new_company
from tests.orders import order_support as support
from tests.orders import runs_plant
from tests.production.plant import problem


def test_an_order_copies_its_products_routing(api, owner, superuser_engine, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=2)
    m1, m2 = shop["machines"]
    p = support.product(app_engine, owner.tenant_id, [
        (10, "Cut", [(m1["id"], "12", 1)]),
        (20, "Weld", [(m1["id"], "20", 2), (m2["id"], "22.5", 2)]),
    ])
    out = support.create(api, owner, job_number="MO-100", product=None, product_number=p["number"], quantity=50,
                         machine_id=m2["id"], customer="Acme")
    assert (out["product_id"], out["product"], out["product_number"], out["product_name"]) == (
        p["id"], p["number"], p["number"], "Bracket")
    assert (out["status"], out["site_id"], out["good"], out["scrap"]) == ("planned", shop["site"]["id"], 0, 0)
    cut, weld = out["operations"]
    # Cut has one machine: it goes there; Weld may run on both: the order's machine m2.
    assert (cut["seq"], cut["name"], cut["machine_id"], cut["quantity"], cut["setup_seconds"]) == (
        10, "Cut", m1["id"], 50, "300")
    assert cut["allowed"] == [{"machine_id": m1["id"], "machine_code": m1["code"], "cycle_seconds": "12",
                               "parts_per_cycle": 1}]
    assert (weld["machine_id"], weld["machine_code"]) == (m2["id"], m2["code"])
    assert sorted((a["machine_code"], a["cycle_seconds"], a["parts_per_cycle"]) for a in weld["allowed"]) == sorted([
        (m1["code"], "20", 2), (m2["code"], "22.5", 2)])
    assert api.get(f"/api/v1/orders/{out['id']}", headers=owner.headers).json() == out
    [created] = support.audits(superuser_engine, owner.tenant_id, out["id"])
    assert (created["action"], created["entity_type"], str(created["actor_id"])) == ("create", "job", owner.user_id)
    assert created["after"]["operations"] == [{"seq": 10, "name": "Cut", "machine_id": m1["id"]},
                                              {"seq": 20, "name": "Weld", "machine_id": m2["id"]}]
    # The old jobs resource reads the same row.
    job = api.get(f"/api/v1/jobs/{out['id']}", headers=owner.headers).json()
    assert (job["job_number"], job["product_id"], job["status"]) == ("MO-100", p["id"], "planned")


def test_bad_input_names_the_field(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    old = support.product(app_engine, owner.tenant_id, [], status="obsolete")
    taken = support.create(api, owner)

    def post(**body):
        base = {"job_number": "MO-X", "product": "Bracket", "quantity": 5, "due_date": "2026-09-01"}
        return api.post("/api/v1/orders", json={**base, **body}, headers=owner.headers)

    problem(post(product=None, product_number="NOPE"), 422, "unknown_product", "product_number")
    problem(post(product=None, product_id="00000000-0000-0000-0000-000000000001"), 422, "unknown_product",
            "product_id")
    problem(post(product=None, product_number=old["number"]), 422, "product_obsolete", "product_number")
    problem(post(product=None), 422, "required", "product")
    problem(post(quantity=0), 422, "validation_failed", "quantity")
    problem(post(status="running"), 422, "validation_failed", "status")
    problem(post(due_date="tomorrow"), 422, "validation_failed", "due_date")
    problem(post(machine_id="00000000-0000-0000-0000-000000000002"), 422, "unknown_machine", "machine_id")
    other = runs_plant.shop(api, owner)["site"]
    problem(post(machine_id=m["id"], site_id=other["id"]), 422, "machine_other_site", "machine_id")
    problem(post(job_number=taken["job_number"]), 409, "job_exists", "job_number")
    problem(api.get("/api/v1/orders/00000000-0000-0000-0000-000000000003", headers=owner.headers), 404,
            "order_not_found")
    problem(api.get("/api/v1/orders", params={"cursor": "nonsense"}, headers=owner.headers), 422, "invalid_cursor",
            "cursor")


def test_list_filters_search_and_pages(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=2)
    m1, m2 = shop["machines"]
    p = support.product(app_engine, owner.tenant_id, [(10, "Press", [(m2["id"], "8", 1)])], name="Hinge plate")
    a = support.create(api, owner, job_number="A-1", due_date="2026-09-03", machine_id=m1["id"])
    b = support.create(api, owner, job_number="B-2", due_date="2026-09-01", product=None, product_id=p["id"])
    c = support.create(api, owner, job_number="C-3", due_date="2026-09-02", customer="Globex", status="released")

    def numbers(**params):
        r = api.get("/api/v1/orders", params=params, headers=owner.headers)
        assert r.status_code == 200, r.text
        return [o["job_number"] for o in r.json()["items"]]

    assert numbers() == ["B-2", "C-3", "A-1"]  # due first
    assert numbers(status="released") == ["C-3"]
    assert numbers(machine_id=m2["id"]) == ["B-2"]  # its operation is dispatched there
    assert numbers(machine_id=m1["id"]) == ["A-1"]
    assert numbers(product_id=p["id"]) == ["B-2"]
    assert numbers(q="hinge") == ["B-2"] and numbers(q="glob") == ["C-3"]
    assert numbers(number="A-1") == ["A-1"] and numbers(number="A") == []
    assert numbers(site_id=shop["site"]["id"]) == ["B-2", "A-1"]
    first = api.get("/api/v1/orders", params={"limit": 2}, headers=owner.headers).json()
    rest = api.get("/api/v1/orders", params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers).json()
    assert [o["id"] for o in first["items"] + rest["items"]] == [b["id"], c["id"], a["id"]]
    assert rest["next_cursor"] is None
    stranger = new_company(api)
    assert api.get("/api/v1/orders", headers=stranger.headers).json()["items"] == []
    problem(api.get(f"/api/v1/orders/{a['id']}", headers=stranger.headers), 404, "order_not_found")


def test_status_by_hand_follows_the_allowed_transitions(api, owner, superuser_engine) -> None:
    shop = runs_plant.shop(api, owner)
    order = support.create(api, owner, machine_id=shop["machines"][0]["id"])
    released = support.set_status(api, owner, order["id"], "released", "customer confirmed")
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["operations"][0]["status"]) == ("released", "released")
    refused = problem(support.set_status(api, owner, order["id"], "completed"), 409, "invalid_transition", "status")
    assert (refused["current"], refused["allowed"]) == ("released", ["cancelled", "planned"])
    problem(support.set_status(api, owner, order["id"], "running"), 422, "validation_failed", "status")
    back = support.set_status(api, owner, order["id"], "planned").json()
    assert (back["status"], back["operations"][0]["status"]) == ("planned", "planned")
    cancelled = support.set_status(api, owner, order["id"], "cancelled", "customer withdrew").json()
    assert (cancelled["status"], cancelled["operations"][0]["status"]) == ("cancelled", "cancelled")
    problem(support.set_status(api, owner, order["id"], "released"), 409, "invalid_transition", "status")
    problem(api.patch(f"/api/v1/orders/{order['id']}", json={"notes": "x"}, headers=owner.headers), 409,
            "order_closed", "status")
    trail = [(a["action"], a["before"], a["after"]) for a in support.audits(superuser_engine, owner.tenant_id,
                                                                            order["id"])][1:]
    assert trail == [
        ("update", {"status": "planned"}, {"status": "released", "reason": "customer confirmed"}),
        ("update", {"status": "released"}, {"status": "planned"}),
        ("update", {"status": "planned"}, {"status": "cancelled", "reason": "customer withdrew"}),
    ]


def test_edit_and_delete_before_production(api, owner, superuser_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=2)
    m1, m2 = shop["machines"]
    order = support.create(api, owner, job_number="E-1", machine_id=m1["id"], customer="Acme", notes="rush")
    r = api.patch(f"/api/v1/orders/{order['id']}", headers=owner.headers, json={
        "job_number": "E-2", "quantity": 70, "customer": None, "machine_id": m2["id"], "reason": "ERP change"})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert (edited["job_number"], edited["quantity"], edited["customer"], edited["notes"]) == ("E-2", 70, None, "rush")
    assert [(o["quantity"], o["machine_id"]) for o in edited["operations"]] == [(70, m2["id"])]
    problem(api.patch(f"/api/v1/orders/{order['id']}", json={"quantity": None}, headers=owner.headers), 422,
            "null_not_allowed", "quantity")
    other = support.create(api, owner)
    problem(api.patch(f"/api/v1/orders/{order['id']}", json={"job_number": other["job_number"]},
                      headers=owner.headers), 409, "job_exists", "job_number")
    gone = api.delete(f"/api/v1/orders/{order['id']}", params={"reason": "duplicate"}, headers=owner.headers)
    assert gone.status_code == 204, gone.text
    problem(api.get(f"/api/v1/orders/{order['id']}", headers=owner.headers), 404, "order_not_found")
    trail = support.audits(superuser_engine, owner.tenant_id, order["id"])
    assert [a["action"] for a in trail] == ["create", "update", "delete"]
    assert trail[1]["before"]["job_number"] == "E-1" and trail[1]["after"]["reason"] == "ERP change"
    assert trail[2]["before"]["job_number"] == "E-2" and trail[2]["after"] == {"reason": "duplicate"}


def test_production_guards_number_quantity_and_delete(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    p = support.product(app_engine, owner.tenant_id, [(10, "Cut", [(m["id"], "10", 1)]),
                                                      (20, "Drill", [(m["id"], "15", 1)])])
    order = support.create(api, owner, product=None, product_id=p["id"], quantity=50)
    cut, drill = order["operations"]
    assert support.set_status(api, owner, order["id"], "released").status_code == 200
    start = api.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": cut["id"]}, headers=owner.headers)
    assert start.status_code in (200, 201), start.text
    running = problem(support.set_status(api, owner, order["id"], "cancelled"), 409, "invalid_transition", "status")
    assert "at the machine" in running["detail"]
    done = api.post(f"/api/v1/machines/{m['id']}/run/complete", json={"final_good": 30, "final_scrap": 2},
                    headers=owner.headers)
    assert done.status_code == 200, done.text
    now = api.get(f"/api/v1/orders/{order['id']}", headers=owner.headers).json()
    # Cut completed, Drill waits: the order is paused between operations; it delivered Drill's 0.
    assert (now["status"], [o["status"] for o in now["operations"]]) == ("paused", ["completed", "released"])
    assert ([(o["good"], o["scrap"]) for o in now["operations"]], now["good"], now["scrap"]) == (
        [(30, 2), (0, 0)], 0, 2)
    url = f"/api/v1/orders/{order['id']}"
    refused = problem(api.patch(url, json={"quantity": 29}, headers=owner.headers), 422, "quantity_below_produced",
                      "quantity")
    assert refused["produced"] == 30
    assert api.patch(url, json={"quantity": 30}, headers=owner.headers).status_code == 200
    problem(api.patch(url, json={"job_number": "NEW"}, headers=owner.headers), 409, "order_has_production",
            "job_number")
    problem(api.delete(url, headers=owner.headers), 409, "order_has_production")
    completed = support.set_status(api, owner, order["id"], "completed", "short run accepted").json()
    assert (completed["status"], [o["status"] for o in completed["operations"]]) == (
        "completed", ["completed", "cancelled"])
    # Starting a completed order is refused at the machine.
    problem(api.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": drill["id"]}, headers=owner.headers),
            409, "order_closed")


def test_operators_view_but_do_not_change_orders(api, owner) -> None:
    order = support.create(api, owner)
    operator = join(api, owner, "operator")
    assert api.get(f"/api/v1/orders/{order['id']}", headers=operator.headers).status_code == 200
    assert api.get("/api/v1/orders/confirmations", headers=operator.headers).status_code == 200
    problem(api.post("/api/v1/orders", json={"job_number": "Z", "product": "P", "quantity": 1,
                                             "due_date": "2026-09-01"}, headers=operator.headers), 403,
            "permission_denied")
    problem(support.set_status(api, operator, order["id"], "released"), 403, "permission_denied")
    problem(api.delete(f"/api/v1/orders/{order['id']}", headers=operator.headers), 403, "permission_denied")
