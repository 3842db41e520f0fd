"""ERP confirmations: one row per ended run, read by cursor, the same rows for the same cursor."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import text

from factoryos.db.tenant import tenant_transaction
from factoryos.orders.confirmations import confirmations_since, hold_for_write
from tests.accounts import new_company
from tests.orders import order_support as support
from tests.orders import runs_plant
from tests.production.plant import problem


def _read(api, who, since=None, limit=None):
    params = {k: v for k, v in (("since", since), ("limit", limit)) if v is not None}
    r = api.get("/api/v1/orders/confirmations", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_each_ended_run_is_confirmed_once_in_cursor_order(api, owner, app_engine) -> None:
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    p = support.product(app_engine, owner.tenant_id, [(10, "Cut", [(m["id"], "10", 1)]),
                                                      (20, "Drill", [(m["id"], "15", 1)])])
    order = support.create(api, owner, job_number="ERP-7", product=None, product_id=p["id"], status="released")
    cut, drill = order["operations"]
    start = _read(api, owner)
    assert start == {"items": [], "next_cursor": "0"}

    def run(op_id, end, **body):
        r = api.post(f"/api/v1/machines/{m['id']}/run", json={"operation_id": op_id}, headers=owner.headers)
        assert r.status_code in (200, 201), r.text
        r = api.post(f"/api/v1/machines/{m['id']}/run/{end}", json=body, headers=owner.headers)
        assert r.status_code == 200, r.text

    run(cut["id"], "pause", reason="break")
    run(cut["id"], "complete", final_good=40, final_scrap=3)
    first = _read(api, owner)
    rows = [(c["order_number"], c["operation_seq"], c["operation_name"], c["machine_code"], c["good"], c["scrap"],
             c["final"], c["operator_email"]) for c in first["items"]]
    # The pause confirmed what it counted (nothing); completion books the rest up to the final figure.
    assert rows == [("ERP-7", 10, "Cut", m["code"], 0, 0, False, owner.email),
                    ("ERP-7", 10, "Cut", m["code"], 40, 3, True, owner.email)]
    assert first["next_cursor"] == str(first["items"][-1]["id"])
    assert all(c["started_at"] <= c["ended_at"] for c in first["items"])
    assert _read(api, owner, since="0") == first  # the same cursor, the same rows
    assert _read(api, owner, since=first["next_cursor"]) == {"items": [], "next_cursor": first["next_cursor"]}

    run(drill["id"], "complete", final_good=38)
    paged = _read(api, owner, limit=2)
    assert paged["items"] == first["items"]
    rest = _read(api, owner, since=paged["next_cursor"], limit=2)
    assert [(c["operation_seq"], c["good"], c["final"]) for c in rest["items"]] == [(20, 38, True)]
    assert int(rest["next_cursor"]) > int(paged["next_cursor"])
    # Another company reads none of them.
    assert _read(api, new_company(api)) == {"items": [], "next_cursor": "0"}


def test_bad_cursor(api, owner) -> None:
    for bad in ("abc", "-1", "1.5", "9" * 25):
        problem(api.get("/api/v1/orders/confirmations", params={"since": bad}, headers=owner.headers), 422,
                "invalid_cursor", "since")
    problem(api.get("/api/v1/orders/confirmations", params={"limit": 0}, headers=owner.headers), 422,
            "validation_failed", "limit")


def _waiting_on_advisory_lock(engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("select count(*) from pg_locks where locktype = 'advisory' and not granted"))
                    .scalar())


def test_a_reader_waits_for_a_confirmation_being_written(api, owner, app_engine, superuser_engine) -> None:
    """A row whose id was drawn but not committed yet is not skipped: the reader waits for it."""
    shop = runs_plant.shop(api, owner)
    m = shop["machines"][0]
    order = runs_plant.order(app_engine, owner.tenant_id, [{"machine_id": m["id"]}])
    tenant = UUID(owner.tenant_id)
    at = datetime(2026, 6, 15, 6, tzinfo=UTC)
    inserted, release = threading.Event(), threading.Event()

    def writer() -> None:
        with tenant_transaction(app_engine, tenant) as conn:
            hold_for_write(conn, tenant)
            run_id = conn.execute(text(
                "insert into operation_runs (tenant_id, operation_id, machine_id, started_at, ended_at, end_kind) "
                "values (:t, :o, :m, :s, :s, 'paused') returning id"),
                {"t": tenant, "o": order["operations"][0], "m": m["id"], "s": at}).scalar_one()
            conn.execute(text(
                "insert into order_confirmations (tenant_id, job_id, operation_id, run_id, machine_id, good, scrap, "
                "started_at, ended_at, final) values (:t, :j, :o, :r, :m, 5, 0, :s, :s, false)"),
                {"t": tenant, "j": order["id"], "o": order["operations"][0], "r": run_id, "m": m["id"], "s": at})
            inserted.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert inserted.wait(10)
    seen: list[int] = []

    def reader() -> None:
        with tenant_transaction(app_engine, tenant) as conn:
            seen.extend(c.good for c in confirmations_since(conn, tenant, None, 10).items)

    reading = threading.Thread(target=reader)
    reading.start()
    deadline = time.monotonic() + 10
    while not _waiting_on_advisory_lock(superuser_engine) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _waiting_on_advisory_lock(superuser_engine) and seen == []  # it waits for the writer's commit
    release.set()
    thread.join(10)
    reading.join(10)
    assert seen == [5]
