"""Helpers of the maintenance tests: a machine, its plans and work orders over HTTP, and
production data written through the ingest path the poller uses (`record_state_change`,
`record_counts`)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from factoryos.db.tenant import tenant_transaction
from factoryos.maintenance.due_duty import generate_for
from factoryos.production.signals import CountRow, record_counts, record_state_change
from tests.accounts import Session
from tests.production import plant

BASE = "/api/v1/maintenance"


def now() -> datetime:
    return datetime.now(UTC)


def site_today(timezone: str = "Europe/Berlin") -> date:
    """Today where the plant is (report days are site days: near midnight UTC they differ)."""
    return datetime.now(ZoneInfo(timezone)).date()


def machine(api: httpx.Client, who: Session, **over: Any) -> dict[str, Any]:
    s = plant.site(api, who)
    return plant.machine(api, who, s["id"], cycle=10, **over)


def ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()


def machine_asset(api: httpx.Client, who: Session, machine_id: str) -> dict[str, Any]:
    return ok(api.get(f"{BASE}/machines/{machine_id}/asset", headers=who.headers))


def plan(api: httpx.Client, who: Session, asset_id: str, **body: Any) -> dict[str, Any]:
    return ok(api.post(f"{BASE}/plans", headers=who.headers, json={"asset_id": asset_id, "name": "Service"} | body),
              201)


def get_plan(api: httpx.Client, who: Session, plan_id: str) -> dict[str, Any]:
    return ok(api.get(f"{BASE}/plans/{plan_id}", headers=who.headers))


def trigger(p: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in p["triggers"] if t["trigger"] == name)


def states(engine: Any, who: Session, machine_id: str, *changes: tuple[str, datetime]) -> None:
    """State changes as the poller writes them (raw codes: running 1, stop 3, planned stop 4)."""
    codes = {"running": 1, "unplanned_stop": 3, "planned_stop": 4, "idle": 2}
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(engine, tenant) as conn:
        for state, at in changes:
            record_state_change(conn, tenant, uuid.UUID(machine_id), state, codes[state], at)


def counts(engine: Any, who: Session, machine_id: str, *rows: tuple[datetime, int, int]) -> None:
    """Minute buckets as the poller writes them: (minute, good, reject)."""
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(engine, tenant) as conn:
        record_counts(conn, tenant, [CountRow(uuid.UUID(machine_id), at.replace(second=0, microsecond=0), good, reject,
                                              f"t|{uuid.uuid4()}") for at, good, reject in rows])


def ago(**kw: float) -> datetime:
    return now() - timedelta(**kw)


def race_duty_and_reader(api: httpx.Client, owner: Session, engine: Any, made: list[Any] | None = None) -> None:
    """Two duty passes and an HTTP reader of the work orders, released at once; the reader must get 200.
    Each pass's result is appended to `made` when given."""
    barrier = threading.Barrier(3)
    read: list[int] = []
    tenant = uuid.UUID(owner.tenant_id)

    def runner() -> None:
        barrier.wait()
        result = generate_for(engine, tenant, datetime.now(UTC))
        if made is not None:
            made.append(result)

    def reader() -> None:
        barrier.wait()
        read.append(api.get(f"{BASE}/work-orders", headers=owner.headers).status_code)

    steps: list[Callable[[], None]] = [runner, runner, reader]
    threads = [threading.Thread(target=step) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert read == [200]
