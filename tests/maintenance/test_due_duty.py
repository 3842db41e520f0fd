"""Preventive orders are made by the server's duty, with nobody reading the due list or the work
orders: a calendar plan and a run-hour plan fall due while the duty runs, and their orders appear,
audited as the system (no actor, no request). Two runners at once (a takeover, or the duty and a
reader) make one order. A server process runs the duty from its start; a license without the
maintenance module stops it."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text

from factoryos.db.tenant import tenant_transaction
from factoryos.licensing.document import Edition, License, Limits
from factoryos.maintenance.due_duty import DueOrders, due_orders, generate_for, licensed
from factoryos.schema.maintenance import maintenance_work_orders as wo
from server.app import create_app
from tests.accounts import Session
from tests.conftest import LiveServer, duty_claim, free_port
from tests.maintenance import support as s
from tests.waiting import until


def _orders(engine: Engine, who: Session, plan_id: str) -> list[dict[str, Any]]:
    """The plan's work orders, read from the database (reading them over HTTP would make them)."""
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(engine, tenant) as conn:
        return [dict(r) for r in conn.execute(select(wo).where(wo.c.tenant_id == tenant,
                                                               wo.c.plan_id == uuid.UUID(plan_id))).mappings()]


def _creations(engine: Engine, who: Session, order_id: uuid.UUID) -> list[Any]:
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(engine, tenant) as conn:
        return list(conn.execute(text(
            "select actor_id, request_id, after->>'generated' as generated, after->>'kind' as kind from audit_log "
            "where tenant_id = :t and entity_type = 'maintenance_work_order' and entity_id = :i and action = 'create'"),
            {"t": tenant, "i": str(order_id)}))




def test_plans_fall_due_while_the_duty_runs_and_their_orders_appear_unread(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    # 0.001 run hours = 3.6 s of running, counted from its last service a minute ago (it has not run since).
    hours = s.plan(api, owner, asset["id"], name="Spindle oil", every_run_hours="0.001",
                   last_done_at=s.ago(minutes=1).isoformat(), checklist=[{"task": "Oil the spindle"}])
    # Serviced a day ago less 4 s: due by the calendar 4 s from now.
    calendar = s.plan(api, owner, asset["id"], name="Daily check", every_days=1,
                      last_done_at=(s.now() - timedelta(days=1) + timedelta(seconds=4)).isoformat())
    running: list[datetime] = []

    async def watch() -> None:
        async with due_orders(app_engine, enabled=True, interval=0.3) as duty:
            assert duty is not None
            while duty.last_pass is None:
                await asyncio.sleep(0.05)
            assert _orders(app_engine, owner, calendar["id"]) == [] == _orders(app_engine, owner, hours["id"])
            running.append(s.now())
            s.states(app_engine, owner, m["id"], ("running", running[0]))  # the machine starts
            deadline = time.monotonic() + 30
            while not (_orders(app_engine, owner, calendar["id"]) and _orders(app_engine, owner, hours["id"])):
                assert time.monotonic() < deadline, "no orders made by the duty"
                await asyncio.sleep(0.1)

    asyncio.run(watch())

    (cal,), (run,) = _orders(app_engine, owner, calendar["id"]), _orders(app_engine, owner, hours["id"])
    assert (cal["kind"], cal["status"], cal["trigger"]) == ("preventive", "approved", "calendar")
    assert cal["due_at"] == datetime.fromisoformat(calendar["anchor_at"]) + timedelta(days=1) <= cal["created_at"]
    assert (run["kind"], run["status"], run["trigger"]) == ("preventive", "approved", "run_hours")
    assert run["created_at"] >= running[0] + timedelta(seconds=3.6)  # made once it had run the set time
    assert [c["task"] for c in run["checklist"]] == ["Oil the spindle"]
    for order in (cal, run):
        # Made by the system: no actor, no request; the audit's snapshot is the order as made.
        assert [tuple(r) for r in _creations(app_engine, owner, order["id"])] == [
            (None, None, "plan due", "preventive")]
    # The due list shows the plans with the orders the duty made (reading makes no second one).
    due = {d["id"]: d for d in s.ok(api.get(f"{s.BASE}/due", headers=owner.headers))}
    assert due[calendar["id"]]["open_work_order_id"] == str(cal["id"])
    assert due[hours["id"]]["open_work_order_id"] == str(run["id"])
    assert len(_orders(app_engine, owner, calendar["id"])) == len(_orders(app_engine, owner, hours["id"])) == 1


def test_two_runners_and_a_reader_at_once_make_one_order(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    p = s.plan(api, owner, asset["id"], name="Weekly lubrication", every_days=7,
               last_done_at=s.ago(days=8).isoformat())
    tenant = uuid.UUID(owner.tenant_id)
    made: list[list[uuid.UUID]] = []
    s.race_duty_and_reader(api, owner, app_engine, made)
    (order,) = _orders(app_engine, owner, p["id"])
    assert sum(len(x) for x in made) <= 1 and all(x in ([], [order["id"]]) for x in made), made
    assert len(_creations(app_engine, owner, order["id"])) == 1  # one order, audited once
    # A later pass (the next minute's) finds the plan's order open: nothing more.
    assert generate_for(app_engine, tenant, datetime.now(UTC)) == []
    assert len(_orders(app_engine, owner, p["id"])) == 1


def test_a_server_process_runs_the_duty_from_its_start(api, owner, app_engine, settings, db_urls, authenticator,
                                                       session_duties) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    p = s.plan(api, owner, asset["id"], name="Filter change", every_days=30, last_done_at=s.ago(days=31).isoformat())
    assert _orders(app_engine, owner, p["id"]) == []
    with session_duties.handed_over():  # this server, not the session's, holds the duties
        claim = duty_claim(db_urls.app)
        server = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=claim),
                            free_port()).start()
        try:
            (order,) = until(lambda: _orders(app_engine, owner, p["id"]), "the server's duty making the order")
        finally:
            server.stop()
    assert [tuple(r)[:2] for r in _creations(app_engine, owner, order["id"])] == [(None, None)]


def test_no_orders_without_the_maintenance_module(api, owner, app_engine) -> None:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    p = s.plan(api, owner, asset["id"], name="Belt check", every_days=1, last_done_at=s.ago(days=2).isoformat())

    def document(edition: Edition) -> License:
        now = datetime.now(UTC)
        return License(license_id="L-1", customer="Plant", edition=edition, issued_at=now - timedelta(days=1),
                       expires_at=now + timedelta(days=30), limits=Limits(machines=10, users=10, sites=1))

    # The evaluation (no license in force) and Advanced include maintenance; Core does not.
    assert licensed(None) and licensed(document(Edition.ADVANCED)) and licensed(document(Edition.ENTERPRISE))
    assert not licensed(document(Edition.CORE))

    async def run_a_while() -> None:
        async with due_orders(app_engine, enabled=True, interval=0.2, allowed=lambda: False):
            await asyncio.sleep(1.0)

    asyncio.run(run_a_while())
    assert _orders(app_engine, owner, p["id"]) == []
    # One pass with the module: the plan's order.
    assert DueOrders(app_engine).run_once() >= 1
    assert len(_orders(app_engine, owner, p["id"])) == 1
