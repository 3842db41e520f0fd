"""The live view shows per machine the order operation it runs: order, product, progress and the
expected finish at the standard rate; a changeover still going on is setup in the OEE so far."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import httpx
from sqlalchemy import update

from factoryos.db.tenant import tenant_transaction
from factoryos.production.signals import CountRow, record_counts, record_state_change
from factoryos.schema.orders import operation_runs
from tests.accounts import new_company
from tests.production import plant
from tests.production.test_kpi_orders import Floor


def round_the_clock(api: httpx.Client, owner, **site: object) -> tuple[dict, datetime]:
    """A UTC site with a 24-hour shift that began about two hours ago."""
    s = plant.site(api, owner, timezone="UTC", **site)
    plant.operator(api, owner, s["id"], owner.user_id)
    began = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    plant.shift(api, owner, s["id"], "Round the clock", began.strftime("%H:%M"), began.strftime("%H:%M"))
    return s, began


def live(api: httpx.Client, owner, site: dict) -> dict:
    r = api.get("/api/v1/production/live", params={"site_id": site["id"]}, headers=owner.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_running_order_and_its_progress(api: httpx.Client, app_engine, superuser_engine) -> None:
    owner = new_company(api)
    s, began = round_the_clock(api, owner)
    press = plant.machine(api, owner, s["id"], cycle=12, name="Press")
    plant.machine(api, owner, s["id"], cycle=12, name="Idle")
    # An order without a product record: one operation, at the machine's own 12 s a part.
    r = api.post("/api/v1/orders", json={"job_number": "MO-7", "product": "Bracket", "quantity": 500,
                                         "due_date": date.today().isoformat(), "machine_id": press["id"],
                                         "status": "released"}, headers=owner.headers)
    assert r.status_code == 201, r.text
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        record_state_change(conn, tenant, press["id"], "running", 1, began)
    r = api.post(f"/api/v1/machines/{press['id']}/run", json={"order_number": "MO-7"}, headers=owner.headers)
    assert r.status_code == 201, r.text
    with superuser_engine.begin() as conn:  # as if started with the shift: this minute's count is the run's
        conn.execute(update(operation_runs).where(operation_runs.c.machine_id == uuid.UUID(press["id"]))
                     .values(started_at=began))
    counted = datetime.now(UTC).replace(second=0, microsecond=0)
    with tenant_transaction(app_engine, tenant) as conn:
        record_counts(conn, tenant, [CountRow(press["id"], counted, 120, 3, "live.1")])

    view = live(api, owner, s)
    rows = {m["name"]: m for m in view["machines"]}
    assert rows["Idle"]["order"] is None
    o = rows["Press"]["order"]
    assert (o["order_number"], o["product"], o["product_number"], o["operation"]) == (
        "MO-7", "Bracket", None, "Production")
    assert (o["good"], o["scrap"], o["ordered"], o["progress"]) == (120, 3, 500, 120 / 500)
    assert (o["cycle_seconds"], o["parts_per_cycle"]) == (12.0, 1)
    # 380 parts left at 12 s each: 4 560 s after the view was made, in UTC.
    at = datetime.fromisoformat(view["at"])
    assert datetime.fromisoformat(o["expected_finish"]) == at + timedelta(seconds=4560)
    assert o["expected_finish"].endswith(("Z", "+00:00"))


def test_a_changeover_under_way_is_setup_and_the_finish_uses_the_products_standard(api, app_engine,
                                                                                    superuser_engine) -> None:
    owner = new_company(api)
    s, began = round_the_clock(api, owner, setup_is_planned=False)
    mould = plant.machine(api, owner, s["id"], cycle=60, name="Mould")
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        record_state_change(conn, tenant, mould["id"], "running", 1, began)
    floor = Floor(superuser_engine, owner)
    operation = floor.operation(mould, "Cap", quantity=1000)
    # A two-cavity mould at 40 s a cycle, started an hour into the shift: nothing counted yet, no
    # end of setup given, so the changeover lasts until now.
    started = began + timedelta(hours=1)
    floor.run(mould, operation, started, None, cycle="40", per_cycle=2)

    view = live(api, owner, s)
    at = datetime.fromisoformat(view["at"])
    m = view["machines"][0]
    o = m["order"]
    assert (o["good"], o["progress"], o["setup_ended_at"], o["cycle_seconds"], o["parts_per_cycle"]) == (
        0, 0.0, None, 40.0, 2)
    # 1 000 parts at 40 s ÷ 2 = 20 000 s from now.
    assert datetime.fromisoformat(o["expected_finish"]) == at + timedelta(seconds=20000)
    # Planned busy from the shift's start to now; setup from the run's start to now is lost.
    us = timedelta(microseconds=1)
    assert m["kpis"]["availability"] == float(Fraction((started - began) // us, (at - began) // us))
