"""A change readers must see at once (a connection saved, an anomaly decided) forgets the company's
live snapshots; a snapshot whose computation began before that is served to its own reader but not
kept, so no later reader gets the view the change replaced."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import httpx

from factoryos.db.tenant import tenant_transaction
from factoryos.live.snapshots import LiveSnapshots, Snapshot
from tests.production.test_live_snapshots import Clock, _plant


def test_a_snapshot_begun_before_a_forget_is_not_kept(api: httpx.Client, app_engine) -> None:
    owner, s, _, _ = _plant(api)
    tenant, site_id = uuid.UUID(owner.tenant_id), uuid.UUID(s["id"])
    snapshots = LiveSnapshots(60.0, clock=Clock())  # never too old in this test: only a forget drops one
    began, go = threading.Event(), threading.Event()

    def held_now() -> datetime:  # the computation has begun; it goes on once the test says so
        began.set()
        assert go.wait(10)
        return datetime.now(UTC)

    served: list[Snapshot] = []

    def reader() -> None:
        with tenant_transaction(app_engine, tenant) as conn:
            served.append(snapshots.get(conn, tenant, site_id, held_now))

    first = threading.Thread(target=reader)
    first.start()
    assert began.wait(10)
    snapshots.forget(tenant)  # the change lands while that snapshot is being computed
    go.set()
    first.join(10)
    assert served and snapshots.computed == 1

    with tenant_transaction(app_engine, tenant) as conn:
        second = snapshots.get(conn, tenant, site_id, lambda: datetime.now(UTC))
    assert second is not served[0] and snapshots.computed == 2  # computed afresh, the old one not kept
    with tenant_transaction(app_engine, tenant) as conn:
        assert snapshots.get(conn, tenant, site_id, lambda: datetime.now(UTC)) is second  # and this one is
