"""With the background renewer, readers never compute a known site's snapshot: they take the last
one, and the renewer brings it up to date off the request path."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx

from factoryos.db.tenant import tenant_transaction
from factoryos.live.snapshots import LiveSnapshots
from tests.production.test_live_snapshots import Clock, _entry, _plant


def test_readers_take_the_last_snapshot_while_the_renewer_renews_it(api: httpx.Client, app_engine) -> None:
    owner, s, lines, machines = _plant(api)
    tenant, site_id = uuid.UUID(owner.tenant_id), uuid.UUID(s["id"])
    clock = Clock()  # moved by hand: a reader never finds the snapshot too old to serve, however slow the box
    snapshots = LiveSnapshots(1.0, clock=clock)
    now = lambda: datetime.now(UTC)  # noqa: E731
    with tenant_transaction(app_engine, tenant) as conn:
        first = snapshots.get(conn, tenant, site_id, now)  # a cold site: its first reader computes it
    assert snapshots.computed == 1
    snapshots.start(app_engine)
    try:
        _entry(api, owner, machines[0]["id"], 5)
        clock.now += 1.5  # stale, still served (under twice its age): the renewer's to renew
        good: dict[str, int] = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and good.get(machines[0]["id"]) != 5:
            with tenant_transaction(app_engine, tenant) as conn:
                snap = snapshots.get(conn, tenant, site_id, now)
            good = {str(m.machine_id): m.good_count for m in snap.view.machines}
            time.sleep(0.05)
        assert good[machines[0]["id"]] == 5 and snap is not first
        assert snapshots.renewed >= 1 and snapshots.computed == 1 + snapshots.renewed  # readers computed none
    finally:
        snapshots.stop()
    renewed = snapshots.renewed
    clock.now += 1.5
    time.sleep(0.8)
    assert snapshots.renewed == renewed  # stopped with its server
