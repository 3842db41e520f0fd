"""Which counts belong to which run: PLC minutes by their midpoint, hand entries by operation."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from factoryos.orders.progress import operation_counts, run_counts
from factoryos.orders.runs import run_at, running_runs
from factoryos.production.signals import CountRow, record_counts
from tests.accounts import new_company
from tests.orders import runs_plant


def at(hhmmss: str) -> datetime:
    return datetime.fromisoformat(f"2026-06-15T{hhmmss}").replace(tzinfo=UTC)


def _run(conn, tenant, op, machine, start, end=None, cycle=None, parts=1):
    return conn.execute(text(
        "insert into operation_runs (tenant_id, operation_id, machine_id, started_at, ended_at, end_kind, "
        "cycle_seconds, parts_per_cycle) values (:t, :o, :m, :s, :e, :k, :c, :p) returning id"),
        {"t": tenant, "o": op, "m": machine, "s": start, "e": end, "k": "paused" if end else None, "c": cycle,
         "p": parts}).scalar_one()


def test_minutes_belong_to_the_run_holding_their_midpoint(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner, machines=2)
    m, idle = shop["machines"]
    a = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m["id"]}])
    b = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m["id"]}])
    op_a, op_b = a["operations"][0], b["operations"][0]
    tenant = UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        # A runs 06:00:00–06:09:20, B from 06:09:20 on.
        run_a = _run(conn, tenant, op_a, m["id"], at("06:00:00"), at("06:09:20"), cycle="10")
        run_b = _run(conn, tenant, op_b, m["id"], at("06:09:20"))
        record_counts(conn, tenant, [
            CountRow(m["id"], at("05:59:00"), 7, 0, "before"),      # midpoint 05:59:30: no run
            CountRow(m["id"], at("06:00:00"), 5, 1, "a-first"),     # 06:00:30: A
            CountRow(m["id"], at("06:08:00"), 4, 0, "a-last"),      # 06:08:30: A
            CountRow(m["id"], at("06:09:00"), 3, 2, "b-first"),     # 06:09:30: after A ended → B
            CountRow(m["id"], at("06:30:00"), 6, 0, "b-later"),     # B still open
        ])
    with tenant_transaction(app_engine, tenant) as conn:
        counts = operation_counts(conn, tenant, [UUID(op_a), UUID(op_b)])
        assert counts == {UUID(op_a): (9, 1), UUID(op_b): (9, 2)}
        assert run_counts(conn, tenant, run_a, at("06:09:20")) == (9, 1)
        assert run_counts(conn, tenant, run_b, at("06:20:00")) == (3, 2)  # up to an instant: 06:09 only
        assert run_at(conn, tenant, UUID(m["id"]), at("05:59:59")) is None
        assert run_at(conn, tenant, UUID(m["id"]), at("06:00:00"))["id"] == run_a
        assert run_at(conn, tenant, UUID(m["id"]), at("06:09:19"))["id"] == run_a
        assert run_at(conn, tenant, UUID(m["id"]), at("06:09:20"))["id"] == run_b
        open_ = running_runs(conn, tenant, [UUID(m["id"]), UUID(idle["id"])])
        assert list(open_) == [UUID(m["id"])]
        row = open_[UUID(m["id"])]
        assert (row["id"], row["job_number"], row["product_name"], row["quantity"]) == (run_b, b["number"], "Bracket",
                                                                                         100)
        conn.execute(text("update order_operations set final_good = 20 where id = :o"), {"o": op_a})
        assert operation_counts(conn, tenant, [UUID(op_a)]) == {UUID(op_a): (20, 1)}  # the operator's figure wins


def test_another_company_sees_nothing(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    a = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m["id"]}])
    tenant = UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        _run(conn, tenant, a["operations"][0], m["id"], at("06:00:00"))
    other = UUID(new_company(api).tenant_id)
    with tenant_transaction(app_engine, other) as conn:
        assert operation_counts(conn, other, [UUID(a["operations"][0])]) == {}
        assert running_runs(conn, other, [UUID(m["id"])]) == {}
        assert run_at(conn, other, UUID(m["id"]), at("07:00:00")) is None
