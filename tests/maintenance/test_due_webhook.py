"""A preventive work order made because its plan fell due is reported to the company's webhooks as
`work_order.due`: written in the transaction that makes the order (gone with it when it rolls back),
sent signed to a real receiver on loopback, and sent exactly once when two duty holders and an HTTP
reader make the order at the same moment. The duty's pace is a setting
(`FACTORYOS_MAINTENANCE_DUE_SECONDS`), and a server started with a short one makes an order that
falls due while it runs within seconds and reports it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from factoryos.config import Settings
from factoryos.db.tenant import tenant_transaction
from factoryos.maintenance.due_duty import generate_for, made_due
from server.app import create_app
from server.state import server_state
from tests.accounts import Session
from tests.conftest import LiveServer, duty_claim, free_port
from tests.integrations.receiver import Receiver, receiver
from tests.maintenance import support as s
from tests.waiting import until

EVENT = "work_order.due"


def _subscribe(api: httpx.Client, who: Session, url: str) -> dict[str, Any]:
    r = api.post("/api/v1/webhooks", json={"url": url, "events": [EVENT]}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _events(engine: Engine, who: Session) -> list[dict[str, Any]]:
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(engine, tenant) as conn:
        return [dict(r) for r in conn.execute(text(
            "select payload from webhook_events where tenant_id = :t and event_type = :e order by occurred_at"),
            {"t": tenant, "e": EVENT}).scalars()]


def _orders(engine: Engine, who: Session, plan_id: str) -> list[dict[str, Any]]:
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(engine, tenant) as conn:
        return [dict(r) for r in conn.execute(text(
            "select id, number, asset_id, machine_id, title, trigger, due_at from maintenance_work_orders "
            "where tenant_id = :t and plan_id = :p"), {"t": tenant, "p": uuid.UUID(plan_id)}).mappings()]


def _due_plan(api: httpx.Client, owner: Session, name: str, **when: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    m = s.machine(api, owner)
    asset = s.machine_asset(api, owner, m["id"])
    return m, s.plan(api, owner, asset["id"], name=name, every_days=7, **when)


def _quiet(rec: Receiver, count: int, seconds: float = 1.5) -> list[Any]:
    """What the receiver got once `count` arrived and a few delivery passes brought nothing more."""
    got = rec.wait_for(count)
    time.sleep(seconds)
    assert len(rec.received) == count, [r.event for r in rec.received]
    return got


def test_the_order_and_its_event_are_one_transaction(api, owner, app_engine) -> None:
    _subscribe(api, owner, "http://127.0.0.1:9/never")  # a subscriber, or nothing would be written
    _, p = _due_plan(api, owner, "Gearbox oil", last_done_at=s.ago(days=8).isoformat())
    tenant = uuid.UUID(owner.tenant_id)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), tenant_transaction(app_engine, tenant) as conn:
        assert len(made_due(conn, tenant, datetime.now(UTC))) == 1
        raise Undo
    assert _orders(app_engine, owner, p["id"]) == [] and _events(app_engine, owner) == []
    (made,) = generate_for(app_engine, tenant, datetime.now(UTC))
    (event,) = _events(app_engine, owner)
    assert event["type"] == EVENT and event["data"]["work_order_id"] == str(made)


def test_a_reader_that_makes_the_order_reports_it(api, owner, app_engine) -> None:
    _subscribe(api, owner, "http://127.0.0.1:9/never")
    _, p = _due_plan(api, owner, "Coolant check", last_done_at=s.ago(days=8).isoformat())
    assert api.get(f"{s.BASE}/due", headers=owner.headers).status_code == 200  # reading makes the order
    (order,) = _orders(app_engine, owner, p["id"])
    assert [e["data"]["work_order_id"] for e in _events(app_engine, owner)] == [str(order["id"])]


def test_a_due_order_is_sent_once_when_duty_holders_and_a_reader_race(api, owner, app_engine) -> None:
    with receiver() as rec:
        rec.secret = _subscribe(api, owner, rec.url)["secret"]
        m, p = _due_plan(api, owner, "Weekly lubrication", last_done_at=s.ago(days=8).isoformat())
        tenant = uuid.UUID(owner.tenant_id)
        s.race_duty_and_reader(api, owner, app_engine)
        (got,) = _quiet(rec, 1)  # the session server's delivery worker sends it
        # A later pass and a later read find the order open: nothing more is made or sent.
        assert generate_for(app_engine, tenant, datetime.now(UTC)) == []
        assert api.get(f"{s.BASE}/due", headers=owner.headers).status_code == 200
        _quiet(rec, 1, seconds=1.0)
    (order,) = _orders(app_engine, owner, p["id"])
    assert got.signature_ok is True and got.event["type"] == EVENT and got.event["company_id"] == owner.tenant_id
    assert got.event["data"] == {
        "work_order_id": str(order["id"]), "number": f"WO-{order['number']:05d}", "plan_id": p["id"],
        "asset_id": str(order["asset_id"]), "machine_id": m["id"], "title": "Weekly lubrication",
        "trigger": "calendar", "due_at": order["due_at"].isoformat()}
    assert len(_events(app_engine, owner)) == 1


def test_the_duty_pace_is_a_setting_and_a_server_reports_what_falls_due(api, owner, app_engine, settings: Settings,
                                                                        db_urls, authenticator, session_duties) -> None:
    assert Settings().maintenance_due_seconds == 60.0  # the default: once a minute
    with receiver() as rec, session_duties.handed_over():  # the server below holds the duties
        rec.secret = _subscribe(api, owner, rec.url)["secret"]
        fast = settings.model_copy(update={"maintenance_due_seconds": 0.5})
        server = LiveServer(create_app(fast, db_urls.app, authenticator=authenticator, duties=duty_claim(db_urls.app)),
                            free_port()).start()
        until(lambda: server_state(server.server.config.app).primary, "the server holding the duties")
        # Serviced a week ago less 3 s: due 3 s from now, while the server runs.
        _, p = _due_plan(api, owner, "Filter change",
                         last_done_at=(s.now() - timedelta(days=7) + timedelta(seconds=3)).isoformat())
        try:
            deadline = time.monotonic() + 30
            while not _orders(app_engine, owner, p["id"]):
                assert time.monotonic() < deadline, "the server's duty made no order"
                time.sleep(0.1)
            (got,) = _quiet(rec, 1, seconds=0.5)
        finally:
            server.stop()
    (order,) = _orders(app_engine, owner, p["id"])
    assert got.signature_ok is True and got.event["data"]["work_order_id"] == str(order["id"])
