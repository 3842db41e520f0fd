"""Orders queued on the TUI test plant's machines, and machine counts stored the way the
poller stores them (its database sink), for the orders and operator screens' tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import Engine, text

from factoryos.connectivity.db_sink import DbSink
from factoryos.connectivity.events import CountDelta
from factoryos.connectivity.machine_ref import poll_id
from factoryos.db.tenant import tenant_transaction
from tests.accounts import Session
from tests.orders import runs_plant


def queued(engine: Engine, tenant: str, machine: dict[str, Any], count: int, *, quantity: int = 50,
           allowed: list[dict[str, Any]] | None = None, product: str = "Bracket",
           numbers: list[str] | None = None) -> list[dict[str, Any]]:
    """`count` released one-operation orders dispatched to `machine`, in queue order."""
    made = [runs_plant.order(engine, tenant, [{"machine_id": machine["id"], "queue_position": n + 1,
                                               "name": "Turning", "allowed": allowed or []}],
                             quantity=quantity, product=product, machine_id=machine["id"])
            for n in range(count)]
    for order, number in zip(made, numbers or [], strict=False):  # fixed numbers, for pictures
        with tenant_transaction(engine, UUID(tenant)) as conn:
            conn.execute(text("update jobs set job_number = :n where id = :id"), {"n": number, "id": order["id"]})
        order["number"] = number
    return made


async def counted(engine: Engine, tenant: str, machine: dict[str, Any], good: int, reject: int, *, key: str,
                  since: datetime) -> None:
    """Counts from the machine's PLC, stored by the poller's sink, in the first minute bucket that
    belongs to a run started at `since` (a bucket belongs to the run holding its minute's midpoint)."""
    minute = (since + timedelta(seconds=30)).astimezone(UTC).replace(second=0, microsecond=0)
    event = CountDelta(machine_id=poll_id(tenant, machine["id"]), minute_utc=minute, good=good, reject=reject,
                       key=f"{machine['id']}|{key}")
    await DbSink(engine).write([event])


def order_of(api: httpx.Client, who: Session, order_id: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/orders/{order_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()


def queue_of(api: httpx.Client, who: Session, machine: dict[str, Any]) -> list[str]:
    r = api.get(f"/api/v1/machines/{machine['id']}/queue", headers=who.headers)
    assert r.status_code == 200, r.text
    return [i["operation_id"] for i in r.json()["items"]]
