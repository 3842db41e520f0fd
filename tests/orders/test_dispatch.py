"""Machine queues: order, planned start/end on the shift calendar, overload, reorder and dispatch."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from factoryos.db.tenant import tenant_transaction
from factoryos.orders.dispatch import machine_queue
from factoryos.production.shifts import instances_overlapping
from tests.orders import runs_plant
from tests.production import plant
from tests.production.plant import problem


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def calendar_shop(api, owner, cycle=30, machines=1):
    """A UTC site working Early 06–14 (break 10:00–10:30) and Late 14–22, every day."""
    s = plant.site(api, owner, timezone="UTC")
    plant.shift(api, owner, s["id"], "Early", "06:00", "14:00", [("10:00", "10:30")])
    plant.shift(api, owner, s["id"], "Late", "14:00", "22:00")
    return [plant.machine(api, owner, s["id"], cycle=cycle) for _ in range(machines)]


def test_queue_is_laid_onto_the_shifts_and_overload_is_shown(api, owner, app_engine) -> None:
    (m,) = calendar_shop(api, owner)
    t = owner.tenant_id
    ops = [
        # 120 parts at a 20 s two-cavity cycle = 10 s a part: 1 200 s + 600 s setup = 1 800 s
        runs_plant.order(app_engine, t, [{"machine_id": m["id"], "quantity": 120, "setup_seconds": 600,
                                          "allowed": [runs_plant.allowed(m, "20", 2)], "queue_position": 1}]),
        # no routing: the machine's own 30 s, 100 parts = 3 000 s
        runs_plant.order(app_engine, t, [{"machine_id": m["id"], "quantity": 100, "queue_position": 2}]),
        # 2 000 parts × 30 s = 60 000 s
        runs_plant.order(app_engine, t, [{"machine_id": m["id"], "quantity": 2000, "queue_position": 3}]),
    ]
    now = utc("2026-06-15T09:00:00")
    with tenant_transaction(app_engine, UUID(t)) as conn:
        q = machine_queue(conn, UUID(t), UUID(m["id"]), now, instances_overlapping)
        short = machine_queue(conn, UUID(t), UUID(m["id"]), now, instances_overlapping, shifts=2)
    assert [str(i.operation_id) for i in q.items] == [o["operations"][0] for o in ops]
    assert [(i.work_seconds, i.cycle_seconds, i.standard) for i in q.items] == [
        (Decimal(1800), Decimal(10), "routing"), (Decimal(3000), Decimal(30), "machine"),
        (Decimal(60000), Decimal(30), "machine")]
    spans = [(i.planned_start, i.planned_end) for i in q.items]
    assert spans[0] == (now, utc("2026-06-15T09:30:00"))
    # 50 min: 30 min to the break, 10:00–10:30 is not working time, 20 min after it
    assert spans[1] == (utc("2026-06-15T09:30:00"), utc("2026-06-15T10:50:00"))
    # 10:50–14:00 (11 400 s) + Late (28 800 s) leave 19 800 s: Tuesday 06:00–10:00 (14 400 s), then 5 400 s
    # after the break: 12:00
    assert spans[2] == (utc("2026-06-15T10:50:00"), utc("2026-06-16T12:00:00"))
    # Three shifts from 09:00 Monday (the running Early counts) end Tuesday 14:00 and hold
    # 16 200 + 28 800 + 27 000 = 72 000 s of work: the queue's 64 800 s fit.
    assert (q.horizon_end, q.overloaded, q.overload_seconds) == (utc("2026-06-16T14:00:00"), False, Decimal(0))
    # Two shifts hold 45 000 s: 19 800 s are overload, shown.
    assert (short.horizon_end, short.overloaded, short.overload_seconds) == (
        utc("2026-06-15T22:00:00"), True, Decimal(19800))


def test_reorder_and_dispatch_over_http(api, owner, app_engine) -> None:
    m1, m2 = calendar_shop(api, owner, machines=2)
    t = owner.tenant_id
    a = runs_plant.order(app_engine, t, [{"machine_id": m1["id"]}])
    b = runs_plant.order(app_engine, t, [{"machine_id": m1["id"]}])
    c = runs_plant.order(app_engine, t, [{"allowed": [runs_plant.allowed(m1), runs_plant.allowed(m2, "15")]}])
    only_m2 = runs_plant.order(app_engine, t, [{"allowed": [runs_plant.allowed(m2)]}])
    planned = runs_plant.order(app_engine, t, [{}], status="planned")
    queue_path = f"/api/v1/machines/{m1['id']}/queue"
    a_op, b_op, c_op = a["operations"][0], b["operations"][0], c["operations"][0]

    r = api.get(queue_path, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert [i["operation_id"] for i in r.json()["items"]] == [a_op, b_op]

    r = api.post(f"/api/v1/orders/operations/{c_op}/dispatch", json={"machine_id": m1["id"], "position": 1},
                 headers=owner.headers)
    assert r.status_code == 200, r.text
    assert [(i["operation_id"], i["position"]) for i in r.json()["items"]] == [(c_op, 1), (a_op, 2), (b_op, 3)]

    r = api.put(queue_path, json={"operation_ids": [b_op, c_op, a_op]}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert [i["operation_id"] for i in r.json()["items"]] == [b_op, c_op, a_op]
    assert [i["job_number"] for i in api.get(queue_path, headers=owner.headers).json()["items"]] == [
        b["number"], c["number"], a["number"]]

    # Moving C to the other machine takes it out of this queue, at that machine's standard.
    r = api.post(f"/api/v1/orders/operations/{c_op}/dispatch", json={"machine_id": m2["id"]}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["items"][0]["cycle_seconds"] == "15", r.text
    # A running operation leaves the queue and is shown first; the queue plans after it.
    r = api.post(f"/api/v1/machines/{m1['id']}/run", json={"operation_id": b_op}, headers=owner.headers)
    assert r.status_code == 201, r.text
    q = api.get(queue_path, headers=owner.headers).json()
    assert q["running"]["operation_id"] == b_op and [i["operation_id"] for i in q["items"]] == [a_op]

    body = problem(api.put(queue_path, json={"operation_ids": [a_op, c_op]}, headers=owner.headers), 422,
                   "queue_mismatch", "operation_ids")
    assert body["unexpected"] == [c_op] and body["missing"] == []
    problem(api.put(queue_path, json={"operation_ids": [a_op, a_op]}, headers=owner.headers), 422,
            "queue_mismatch", "operation_ids")
    problem(api.put(queue_path, json={"operation_ids": ["x"]}, headers=owner.headers), 422, "validation_failed")
    body = problem(api.post(f"/api/v1/orders/operations/{only_m2['operations'][0]}/dispatch",
                            json={"machine_id": m1["id"]}, headers=owner.headers), 422, "machine_not_allowed",
                   "machine_id")
    assert body["allowed"] == [m2["code"]]
    problem(api.post(f"/api/v1/orders/operations/{planned['operations'][0]}/dispatch", json={"machine_id": m1["id"]},
                     headers=owner.headers), 409, "operation_not_released", "operation_id")
    problem(api.post(f"/api/v1/orders/operations/{b_op}/dispatch", json={"machine_id": m2["id"]},
                     headers=owner.headers), 409, "operation_busy", "operation_id")
    problem(api.post(f"/api/v1/orders/operations/{a_op}/dispatch", json={"machine_id": str(UUID(int=3))},
                     headers=owner.headers), 422, "machine_not_found", "machine_id")
    problem(api.post(f"/api/v1/orders/operations/{UUID(int=3)}/dispatch", json={"machine_id": m1["id"]},
                     headers=owner.headers), 404, "operation_not_found")
    problem(api.post(f"/api/v1/orders/operations/{a_op}/dispatch", json={"machine_id": m1["id"], "position": 0},
                     headers=owner.headers), 422, "validation_failed", "position")
    problem(api.get(queue_path, params={"shifts": 0}, headers=owner.headers), 422, "validation_failed", "shifts")
    problem(api.get(f"/api/v1/machines/{UUID(int=3)}/queue", headers=owner.headers), 404, "machine_not_found")


def test_operators_see_queues_but_only_planners_change_them(api, owner, app_engine) -> None:
    from tests.accounts import join

    (m,) = calendar_shop(api, owner)
    a = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m["id"]}])
    operator = join(api, owner, role="operator")
    path = f"/api/v1/machines/{m['id']}/queue"
    assert api.get(path, headers=operator.headers).status_code == 200
    problem(api.put(path, json={"operation_ids": a["operations"]}, headers=operator.headers), 403, "permission_denied")
    problem(api.post(f"/api/v1/orders/operations/{a['operations'][0]}/dispatch", json={"machine_id": m["id"]},
                     headers=operator.headers), 403, "permission_denied")
