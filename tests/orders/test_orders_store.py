"""The order store and its status rules, called as the run and dispatch code calls them."""

from __future__ import annotations

import threading
import time
from datetime import date
from uuid import UUID

import pytest
from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from factoryos.errors import Conflict
from factoryos.orders.order_models import OrderIn
from factoryos.orders.order_status import derived_status, order_status_after_runs, set_order_status
from factoryos.orders.orders import create_order, get_order
from tests.orders import runs_plant


def test_an_order_without_product_gets_one_operation_on_its_machine(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    tenant = UUID(owner.tenant_id)
    body = OrderIn(job_number="MO-1", product="Bracket", quantity=40, due_date=date(2026, 9, 1),
                   machine_id=m["id"], status="released")
    with tenant_transaction(app_engine, tenant) as conn:
        order_id = create_order(conn, tenant, UUID(owner.user_id), body)
        out = get_order(conn, tenant, order_id)
    assert (out.job_number, out.status, out.site_id, out.product_id) == (
        "MO-1", "released", UUID(shop["site"]["id"]), None)
    [op] = out.operations
    assert (op.seq, op.name, op.quantity, op.allowed, op.status, op.machine_code) == (
        10, "Production", 40, [], "released", m["code"])
    assert (op.good, op.scrap, out.good) == (0, 0, 0)


def test_status_follows_the_operations(api, owner, app_engine) -> None:
    # any running → running; else all closed with one completed → completed; else one ran → paused.
    assert derived_status("released", ["running", "paused"]) == "running"
    assert derived_status("running", ["paused", "released"]) == "paused"
    assert derived_status("running", ["completed", "released"]) == "paused"
    assert derived_status("paused", ["completed", "cancelled"]) == "completed"
    assert derived_status("released", ["cancelled", "cancelled"]) == "released"
    assert derived_status("planned", ["planned"]) == "planned"
    assert derived_status("cancelled", ["running"]) == "cancelled"
    runs_plant.shop(api, owner)
    o = runs_plant.order(app_engine, owner.tenant_id, [{"status": "running"}, {"status": "released"}])
    tenant = UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        assert order_status_after_runs(conn, tenant, UUID(o["id"])) == "running"
        assert get_order(conn, tenant, UUID(o["id"])).status == "running"
        with pytest.raises(Conflict) as refused:
            set_order_status(conn, tenant, UUID(o["id"]), "completed")
        assert refused.value.code == "invalid_transition"


def _someone_waits_on_a_row(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("select count(*) from pg_locks where not granted and locktype in "
                                      "('transactionid', 'tuple')")).scalar())


def test_a_planner_and_a_machine_changing_one_order_wait_for_each_other(api, owner, app_engine,
                                                                          superuser_engine) -> None:
    """A run at the machine locks its operation, then the order; a planner's change takes them in the
    same order, so it waits for the run (and then sees it) instead of deadlocking with it."""
    runs_plant.shop(api, owner)
    o = runs_plant.order(app_engine, owner.tenant_id, [{}])
    tenant, job_id, op_id = UUID(owner.tenant_id), UUID(o["id"]), UUID(o["operations"][0])
    locked, outcome = threading.Event(), {}

    def machine() -> None:
        with tenant_transaction(app_engine, tenant) as conn:
            conn.execute(text("select id from order_operations where id = :o for update"), {"o": op_id})
            locked.set()
            deadline = time.monotonic() + 10
            while not _someone_waits_on_a_row(superuser_engine) and time.monotonic() < deadline:
                time.sleep(0.02)
            conn.execute(text("update order_operations set status = 'running' where id = :o"), {"o": op_id})
            outcome["machine"] = order_status_after_runs(conn, tenant, job_id)

    def planner() -> None:
        try:
            with tenant_transaction(app_engine, tenant) as conn:
                set_order_status(conn, tenant, job_id, "cancelled")
            outcome["planner"] = "cancelled"
        except Conflict as exc:
            outcome["planner"] = exc.code

    first = threading.Thread(target=machine)
    first.start()
    assert locked.wait(10)
    second = threading.Thread(target=planner)
    second.start()
    first.join(20)
    second.join(20)
    assert outcome == {"machine": "running", "planner": "invalid_transition"}
