"""The shared live snapshot: one computation per site and period, the same answer as computing
it per request, never another company's, and a new entry shows once the snapshot is renewed."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from factoryos.db.tenant import tenant_transaction
from factoryos.live.models import LiveQuery
from factoryos.live.snapshots import LiveSnapshots
from factoryos.live.view import live_view
from tests.accounts import new_company
from tests.production import plant


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _plant(api: httpx.Client):
    owner = new_company(api)
    s = plant.site(api, owner, timezone="UTC")
    plant.operator(api, owner, s["id"], owner.user_id)
    plant.shift(api, owner, s["id"], "Round the clock", "00:00", "00:00")
    lines = [plant.line(api, owner, s["id"]) for _ in range(2)]
    machines = [plant.machine(api, owner, s["id"], cycle=1, line_id=ln["id"]) for ln in lines for _ in range(2)]
    return owner, s, lines, machines


def _entry(api: httpx.Client, owner, machine_id: str, good: int) -> None:
    r = api.post("/api/v1/production/entry", json={"machine_id": machine_id, "good_quantity": good},
                 headers=owner.headers)
    assert r.status_code == 201, r.text


def test_readers_share_one_snapshot_until_it_is_stale(api: httpx.Client, app_engine) -> None:
    owner, s, lines, machines = _plant(api)
    tenant, site_id = uuid.UUID(owner.tenant_id), uuid.UUID(s["id"])
    clock = Clock()
    snapshots = LiveSnapshots(1.0, clock=clock)
    now = lambda: datetime.now(UTC)  # noqa: E731

    with tenant_transaction(app_engine, tenant) as conn:
        first = snapshots.get(conn, tenant, site_id, now)
    _entry(api, owner, machines[0]["id"], 1)
    clock.now += 0.9
    with tenant_transaction(app_engine, tenant) as conn:
        again = snapshots.get(conn, tenant, site_id, now)
    assert again is first and snapshots.computed == 1
    assert {m.good_count for m in again.view.machines} == {0}  # not renewed yet

    clock.now += 0.2
    with tenant_transaction(app_engine, tenant) as conn:
        renewed = snapshots.get(conn, tenant, site_id, now)
    assert renewed is not first and snapshots.computed == 2
    assert {str(m.machine_id): m.good_count for m in renewed.view.machines}[machines[0]["id"]] == 1


def test_a_line_from_the_snapshot_is_what_computing_it_gives(api: httpx.Client, app_engine) -> None:
    owner, s, lines, machines = _plant(api)
    _entry(api, owner, machines[1]["id"], 2)
    _entry(api, owner, machines[2]["id"], 3)
    tenant, site_id = uuid.UUID(owner.tenant_id), uuid.UUID(s["id"])
    at = datetime.now(UTC)
    snapshots = LiveSnapshots(1.0, clock=Clock())
    with tenant_transaction(app_engine, tenant) as conn:
        snap = snapshots.get(conn, tenant, site_id, lambda: at)
        for line_id in [None, *(uuid.UUID(ln["id"]) for ln in lines), uuid.uuid4()]:
            direct = live_view(conn, tenant, LiveQuery(site_id=site_id, line_id=line_id), at)
            assert json.loads(snap.json(line_id)) == direct.model_dump(mode="json")
    assert len(json.loads(snap.json(uuid.UUID(lines[0]["id"])))["machines"]) == 2


def test_another_company_never_gets_a_sites_snapshot(api: httpx.Client) -> None:
    owner, s, lines, machines = _plant(api)
    _entry(api, owner, machines[0]["id"], 4)
    r = api.get("/api/v1/production/live", params={"site_id": s["id"]}, headers=owner.headers)
    assert r.status_code == 200 and len(r.json()["machines"]) == 4  # A's snapshot is fresh now
    other = new_company(api)
    for params in ({"site_id": s["id"]}, {"site_id": s["id"], "line_id": lines[0]["id"]}):
        r = api.get("/api/v1/production/live", params=params, headers=other.headers)
        assert r.status_code == 404, r.text
        assert machines[0]["id"] not in r.text


def test_the_view_over_http_is_recent(api: httpx.Client) -> None:
    owner, s, lines, machines = _plant(api)
    before = datetime.now(UTC)
    r = api.get("/api/v1/production/live", params={"site_id": s["id"], "line_id": lines[1]["id"]},
                headers=owner.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {m["machine_id"] for m in body["machines"]} == {m["id"] for m in machines[2:]}
    assert datetime.fromisoformat(body["at"]) >= before - timedelta(seconds=1)


def test_readers_take_the_previous_snapshot_while_another_renews_it(api: httpx.Client, app_engine) -> None:
    owner, s, lines, machines = _plant(api)
    tenant, site_id = uuid.UUID(owner.tenant_id), uuid.UUID(s["id"])
    clock = Clock()
    snapshots = LiveSnapshots(1.0, clock=clock)
    now = lambda: datetime.now(UTC)  # noqa: E731
    with tenant_transaction(app_engine, tenant) as conn:
        first = snapshots.get(conn, tenant, site_id, now)
        lock = snapshots._locks[(tenant, site_id)]
        lock.acquire()  # as if a reader were renewing it right now
        try:
            clock.now += 1.5
            assert snapshots.get(conn, tenant, site_id, now) is first  # stale, but young enough
            clock.now += 1.0
            waited = []

            def renew_later() -> None:
                waited.append(True)
                lock.release()

            timer = threading.Timer(0.2, renew_later)
            timer.start()
            renewed = snapshots.get(conn, tenant, site_id, now)  # too old: waits for the lock, then renews
            timer.join()
        finally:
            if lock.locked() and not waited:
                lock.release()
    assert waited and renewed is not first and snapshots.computed == 2
