"""Running operations at the machine over HTTP: start (by id or scanned number), setup done, pause, complete."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import httpx
from sqlalchemy import text

from tests.accounts import join
from tests.orders import runs_plant
from tests.production.plant import problem


def run_path(machine: dict) -> str:
    return f"/api/v1/machines/{machine['id']}/run"


def start(api, who, machine, **body):
    return api.post(run_path(machine), json=body, headers=who.headers)


def test_start_pause_and_complete_with_confirmations(api, owner, superuser_engine, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=2)
    m1, m2 = shop["machines"]
    a = runs_plant.order(app_engine, owner.tenant_id, [
        {"allowed": [runs_plant.allowed(m1, "12.5", 2), runs_plant.allowed(m2, "20")], "machine_id": m1["id"]}])
    b = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m1["id"]}])  # any machine, its own cycle
    assert api.get(run_path(m1), headers=owner.headers).json() is None

    r = start(api, owner, m1, operation_id=a["operations"][0])
    assert r.status_code == 201, r.text
    run = r.json()["run"]
    assert r.json()["ended"] is None
    # The standard is frozen from the routing's entry for this machine.
    assert (run["cycle_seconds"], run["parts_per_cycle"], run["job_number"], run["operation_status"]) == (
        "12.5", 2, a["number"], "running")
    assert (run["good"], run["run_good"], run["setup_ended_at"]) == (0, 0, None)
    assert api.get(run_path(m1), headers=owner.headers).json()["id"] == run["id"]

    # Another operation while one runs: refused, naming the running order.
    body = problem(start(api, owner, m1, operation_id=b["operations"][0]), 409, "operation_running", "current")
    assert a["number"] in body["detail"] and body["order_number"] == a["number"]
    # The same operation on a second machine: it runs on one machine at a time.
    problem(start(api, owner, m2, operation_id=a["operations"][0]), 409, "operation_busy", "operation_id")

    r = api.post(run_path(m1) + "/setup-done", headers=owner.headers)
    assert r.status_code == 200 and r.json()["setup_ended_at"] is not None, r.text
    problem(api.post(run_path(m1) + "/setup-done", headers=owner.headers), 409, "setup_already_done")

    # Start B, pausing A first, in one request.
    r = start(api, owner, m1, operation_id=b["operations"][0], current="pause")
    assert r.status_code == 201, r.text
    ended, run_b = r.json()["ended"], r.json()["run"]
    assert (ended["id"], ended["end_kind"], ended["operation_status"]) == (run["id"], "paused", "paused")
    assert (run_b["cycle_seconds"], run_b["parts_per_cycle"]) == (None, 1)  # no routing: the machine's own

    # A resumes on the other machine, at that machine's standard; B completes with the operator's figures.
    r = start(api, owner, m2, operation_id=a["operations"][0])
    assert r.status_code == 201 and r.json()["run"]["cycle_seconds"] == "20", r.text
    r = api.post(run_path(m1) + "/complete", json={"final_good": 90, "final_scrap": 4}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["end_kind"], r.json()["good"], r.json()["scrap"]) == ("completed", 90, 4)
    r = api.post(run_path(m2) + "/complete", json={}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["operation_status"] == "completed", r.text
    problem(api.post(run_path(m2) + "/pause", json={}, headers=owner.headers), 409, "no_operation_running")

    with superuser_engine.connect() as conn:
        confirmations = conn.execute(text(
            "select operation_id, machine_id, good, scrap, final from order_confirmations where tenant_id = :t "
            "order by id"), {"t": owner.tenant_id}).all()
        statuses = dict(conn.execute(text("select job_number, status from jobs where tenant_id = :t"),
                                     {"t": owner.tenant_id}).all())
        audited = conn.execute(text(
            "select entity_type, action, count(*) from audit_log where tenant_id = :t "
            "and entity_type in ('operation_run', 'order_operation', 'order_confirmation', 'job') "
            "group by 1, 2 order by 1, 2"), {"t": owner.tenant_id}).all()
    a_op, b_op = UUID(a["operations"][0]), UUID(b["operations"][0])
    assert confirmations == [(a_op, UUID(m1["id"]), 0, 0, False), (b_op, UUID(m1["id"]), 90, 4, True),
                             (a_op, UUID(m2["id"]), 0, 0, True)]
    assert statuses == {a["number"]: "completed", b["number"]: "completed"}
    # One audit row per request (3 starts; setup done and 2 completions), naming what else it changed.
    assert audited == [("operation_run", "create", 3), ("operation_run", "update", 3)]
    with superuser_engine.connect() as conn:
        effects = conn.execute(text(
            "select after->'effects' from audit_log where tenant_id = :t and entity_type = 'operation_run' "
            "and action = 'create' order by seq"), {"t": owner.tenant_id}).scalars().all()
    # Starting B paused A in the same request: A's run ended, its operation paused, its confirmation written.
    assert {(e["entity"], e["action"]) for e in effects[1]} >= {
        ("operation_run", "update"), ("order_operation", "update"), ("order_confirmation", "create")}


def test_scanned_order_number_picks_the_operation_for_this_machine(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=3)
    saw, drill, other = shop["machines"]
    mo = runs_plant.order(app_engine, owner.tenant_id, [
        {"allowed": [runs_plant.allowed(saw)]}, {"allowed": [runs_plant.allowed(drill, "40")]}])
    # A scanner types fast and ends with Enter; people type lower case.
    r = start(api, owner, drill, order_number=f"  {mo['number'].lower()}\r\n")
    assert r.status_code == 201, r.text
    assert (r.json()["run"]["operation_id"], r.json()["run"]["cycle_seconds"]) == (mo["operations"][1], "40")
    body = problem(start(api, owner, other, order_number=mo["number"]), 422, "machine_not_allowed", "order_number")
    assert body["allowed"] == [saw["code"]] and saw["code"] in body["detail"]
    problem(start(api, owner, other, order_number="NO-SUCH"), 404, "order_not_found", "order_number")


def test_refusals(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=2)
    m1, m2 = shop["machines"]
    ok = runs_plant.order(app_engine, owner.tenant_id, [{"allowed": [runs_plant.allowed(m1)]}])
    body = problem(start(api, owner, m2, operation_id=ok["operations"][0]), 422, "machine_not_allowed", "operation_id")
    assert body["allowed"] == [m1["code"]]
    done = runs_plant.order(app_engine, owner.tenant_id, [{}], status="completed")
    problem(start(api, owner, m1, operation_id=done["operations"][0]), 409, "order_closed")
    cancelled = runs_plant.order(app_engine, owner.tenant_id, [{}], status="cancelled")
    problem(start(api, owner, m1, order_number=cancelled["number"]), 409, "order_closed")
    planned = runs_plant.order(app_engine, owner.tenant_id, [{}], status="planned")
    problem(start(api, owner, m1, operation_id=planned["operations"][0]), 409, "operation_not_released", "operation_id")
    problem(start(api, owner, m1), 422, "operation_required", "operation_id")
    problem(start(api, owner, m1, operation_id=ok["operations"][0], order_number=ok["number"]), 422,
            "operation_required")
    problem(start(api, owner, m1, operation_id="not-a-uuid"), 422, "validation_failed", "operation_id")
    problem(start(api, owner, m1, operation_id=str(UUID(int=5))), 404, "operation_not_found", "operation_id")
    problem(start(api, owner, m1, operation_id=ok["operations"][0], current="stop"), 422, "validation_failed",
            "current")
    problem(api.post(f"/api/v1/machines/{UUID(int=7)}/run", json={"operation_id": ok["operations"][0]},
                     headers=owner.headers), 404, "machine_not_found")
    problem(api.post(run_path(m1) + "/complete", json={"final_good": -1}, headers=owner.headers), 422,
            "validation_failed", "final_good")
    problem(api.get(f"/api/v1/machines/{UUID(int=7)}/run", headers=owner.headers), 404, "machine_not_found")
    assert api.patch(f"/api/v1/machines/{m2['id']}", json={"status": "retired"}, headers=owner.headers).is_success
    any_machine = runs_plant.order(app_engine, owner.tenant_id, [{}])
    problem(start(api, owner, m2, operation_id=any_machine["operations"][0]), 422, "machine_retired", "machine_id")


def test_operators_run_and_read_only_members_cannot(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    mo = runs_plant.order(app_engine, owner.tenant_id, [{}])
    viewer = join(api, owner, role="read_only")
    problem(start(api, viewer, m, operation_id=mo["operations"][0]), 403, "permission_denied")
    operator = join(api, owner, role="operator")
    r = start(api, operator, m, operation_id=mo["operations"][0])
    assert r.status_code == 201 and r.json()["run"]["operator_id"] == operator.user_id, r.text
    assert api.get(run_path(m), headers=viewer.headers).json()["id"] == r.json()["run"]["id"]


def test_two_terminals_starting_at_once_get_one_run(api, owner, app_engine, live_server) -> None:
    m1, m2, m3 = runs_plant.shop(api, owner, machines=3)["machines"]
    a, b, c = (runs_plant.order(app_engine, owner.tenant_id, [{}]) for _ in range(3))

    def post(machine: dict, operation: str) -> int:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            return client.post(run_path(machine), json={"operation_id": operation}, headers=owner.headers).status_code

    with ThreadPoolExecutor(2) as pool:  # one machine, two operations
        assert sorted(pool.map(post, [m1, m1], [a["operations"][0], b["operations"][0]])) == [201, 409]
    with ThreadPoolExecutor(2) as pool:  # one operation, two machines
        assert sorted(pool.map(post, [m2, m3], [c["operations"][0]] * 2)) == [201, 409]


def test_an_order_lists_the_machines_it_runs_on_now(api, owner, app_engine) -> None:
    """An order of several operations has no machine of its own: the list says where it runs."""
    shop = runs_plant.shop(api, owner, machines=2)
    m1, m2 = shop["machines"]
    a = runs_plant.order(app_engine, owner.tenant_id, [{"allowed": [runs_plant.allowed(m1)]},
                                                       {"allowed": [runs_plant.allowed(m2)]}])

    def listed() -> tuple[list[str], str | None]:
        page = api.get("/api/v1/orders", params={"number": a["number"]}, headers=owner.headers)
        assert page.status_code == 200, page.text
        (item,) = page.json()["items"]
        return item["running_on"], item["machine_code"]

    assert listed() == ([], None)
    assert start(api, owner, m1, operation_id=a["operations"][0]).status_code == 201
    assert start(api, owner, m2, operation_id=a["operations"][1]).status_code == 201
    assert listed() == ([m1["code"], m2["code"]], None)  # in the order of the operations
    one = api.get(f"/api/v1/orders/{a['id']}", headers=owner.headers).json()
    assert one["running_on"] == [m1["code"], m2["code"]]
    assert api.post(run_path(m1) + "/pause", json={}, headers=owner.headers).status_code == 200
    assert listed() == ([m2["code"]], None)


def test_a_count_the_server_cannot_take_is_refused_in_plain_words(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=1)
    (m1,) = shop["machines"]
    a = runs_plant.order(app_engine, owner.tenant_id, [{"allowed": [runs_plant.allowed(m1)]}])
    assert start(api, owner, m1, operation_id=a["operations"][0]).status_code == 201
    body = problem(api.post(run_path(m1) + "/complete", json={"final_good": 999_999_999}, headers=owner.headers),
                   422, "validation_failed", "final_good")
    assert body["detail"] == "final_good: must be at most 100000000"
    assert body["errors"] == [{"field": "final_good", "message": "must be at most 100000000"}]
