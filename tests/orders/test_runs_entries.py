"""Hand entries and rejections belong to the operation running on their machine when they happen."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from factoryos.orders.progress import operation_counts
from tests.orders import runs_plant
from tests.production import plant
from tests.production.plant import problem

DAY = "2026-06-15"


def test_entries_take_the_run_at_their_start(api, owner, app_engine) -> None:
    s = plant.site(api, owner, timezone="UTC")
    plant.operator(api, owner, s["id"], owner.user_id)
    early = plant.shift(api, owner, s["id"], "Early", "06:00", "14:00")
    m, idle = plant.machine(api, owner, s["id"], cycle=10), plant.machine(api, owner, s["id"], cycle=10)
    t = UUID(owner.tenant_id)
    a, b, c = (runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m["id"]}]) for _ in range(3))
    op_a, op_b, op_c = (UUID(o["operations"][0]) for o in (a, b, c))
    with tenant_transaction(app_engine, t) as conn:  # A ran 06:00–09:00, B from 09:00 on
        conn.execute(text(
            "insert into operation_runs (tenant_id, operation_id, machine_id, started_at, ended_at, end_kind) values "
            "(:t, :a, :m, :s1, :e1, 'paused'), (:t, :b, :m, :e1, null, null)"),
            {"t": t, "a": op_a, "b": op_b, "m": m["id"], "s1": f"{DAY}T06:00:00Z", "e1": f"{DAY}T09:00:00Z"})
    ref = {"shift_id": early["id"], "shift_date": DAY}

    def entry(machine, start, end, good, **extra):
        return api.post("/api/v1/production/entry", headers=owner.headers, json=ref | {
            "machine_id": machine["id"], "started_at": f"{DAY}T{start}Z", "ended_at": f"{DAY}T{end}Z",
            "good_quantity": good} | extra)

    def scrap(machine, at, quantity, **extra):
        return api.post("/api/v1/rejections", headers=owner.headers, json=ref | {
            "machine_id": machine["id"], "occurred_at": f"{DAY}T{at}Z", "quantity": quantity,
            "reason_id": reason} | extra)

    reason = next(r["id"] for r in api.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]
                  if r["code"] == "DEFECT.DIMENSION")
    got = [entry(m, "07:00:00", "08:00:00", 50), entry(m, "08:30:00", "09:30:00", 40),  # starts in A's run
           entry(m, "09:30:00", "10:00:00", 30), entry(m, "10:00:00", "10:10:00", 7, operation_id=str(op_c)),
           entry(idle, "07:00:00", "08:00:00", 11)]
    assert all(r.status_code == 201 for r in got), [r.text for r in got]
    assert [r.json()["operation_id"] for r in got] == [str(op_a), str(op_a), str(op_b), str(op_c), None]
    cuts = [scrap(m, "08:59:59", 3), scrap(m, "09:00:00", 2), scrap(idle, "09:00:00", 1)]
    assert all(r.status_code == 201 for r in cuts), [r.text for r in cuts]
    assert [r.json()["operation_id"] for r in cuts] == [str(op_a), str(op_b), None]

    problem(entry(m, "11:00:00", "11:10:00", 1, operation_id=str(UUID(int=9))), 422, "operation_not_found",
            "operation_id")
    problem(scrap(m, "11:00:00", 1, operation_id=str(UUID(int=9))), 422, "operation_not_found", "operation_id")
    with tenant_transaction(app_engine, t) as conn:
        assert operation_counts(conn, t, [op_a, op_b, op_c]) == {op_a: (90, 3), op_b: (30, 2), op_c: (7, 0)}
