"""Counter anomalies: stored by the sink's own writer, listed, accepted (parts become production)
or discarded (nothing stored), each step audited, over HTTP against the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from factoryos.db.tenant import tenant_transaction
from factoryos.errors import ValidationFailed
from factoryos.live.snapshots import LiveSnapshots
from factoryos.production.anomalies import AnomalyRow, record_anomalies
from tests.accounts import Session, join, new_company
from tests.production import plant


def _jump(machine_id: str, at: datetime, delta: int, signal: str = "good", key: str | None = None) -> AnomalyRow:
    return AnomalyRow(machine_id=uuid.UUID(machine_id), signal=signal, previous_raw=500, raw=500 + delta,
                      previous_at=at - timedelta(seconds=1), detected_at=at, delta=delta, allowed=2,
                      key=key or f"jump|{uuid.uuid4()}")


def _record(app_engine, who: Session, rows: list[AnomalyRow]) -> int:
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(app_engine, tenant) as conn:
        return record_anomalies(conn, tenant, rows)


def _running_plant(api: httpx.Client) -> tuple[Session, dict, dict, datetime]:
    """A UTC site whose 24-hour shift began about two hours ago, and one machine (1 s cycle)."""
    owner = new_company(api)
    s = plant.site(api, owner, timezone="UTC")
    began = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    plant.shift(api, owner, s["id"], "Round the clock", began.strftime("%H:%M"), began.strftime("%H:%M"))
    return owner, s, plant.machine(api, owner, s["id"], cycle=1), began


def _live(api: httpx.Client, who: Session, site_id: str, machine_id: str) -> dict:
    r = api.get("/api/v1/production/live", params={"site_id": site_id}, headers=who.headers)
    assert r.status_code == 200, r.text
    return next(m for m in r.json()["machines"] if m["machine_id"] == machine_id)


def _audit(api: httpx.Client, who: Session, action: str) -> list[dict]:
    r = api.get("/api/v1/audit", params={"entity": "counter_anomaly", "action": action, "limit": 500},
                headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_detected_jumps_are_listed_accepted_and_discarded(api: httpx.Client, app_engine) -> None:
    owner, s, m, began = _running_plant(api)
    base = f"/api/v1/machines/{m['id']}/anomalies"
    jumps = [_jump(m["id"], began + timedelta(minutes=30, seconds=12), 1000),
             _jump(m["id"], began + timedelta(minutes=40), 50, "reject"),
             _jump(m["id"], began + timedelta(minutes=50), 1_000_000)]
    assert _record(app_engine, owner, jumps) == 3
    assert _record(app_engine, owner, jumps) == 0  # the spool replays: nothing new, no second audit row

    detected = _audit(api, owner, "detect")
    assert len(detected) == 3 and {e["actor_id"] for e in detected} == {None}
    assert sorted(e["after"]["delta"] for e in detected) == [50, 1000, 1_000_000]
    assert {e["after"]["status"] for e in detected} == {"pending"}
    live = _live(api, owner, s["id"], m["id"])
    assert (live["pending_anomalies"], live["good_count"], live["reject_count"]) == (3, 0, 0)

    # Newest first, two pages.
    r = api.get(base, params={"limit": 2}, headers=owner.headers)
    assert r.status_code == 200, r.text
    first = r.json()
    assert [a["delta"] for a in first["items"]] == [1_000_000, 50]
    r = api.get(base, params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers)
    assert [a["delta"] for a in r.json()["items"]] == [1000] and r.json()["next_cursor"] is None
    big, rejects, good = first["items"] + r.json()["items"]
    assert (good["signal"], good["previous_raw"], good["raw"], good["allowed"]) == ("good", 500, 1500, 2)

    key = {"Idempotency-Key": f"accept-{uuid.uuid4()}"}
    r = api.post(f"{base}/{good['id']}/accept", headers=owner.headers | key)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decided_by"]) == ("accepted", owner.user_id)
    replay = api.post(f"{base}/{good['id']}/accept", headers=owner.headers | key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == r.json()
    for decision in ("accept", "discard"):
        body = plant.problem(api.post(f"{base}/{good['id']}/{decision}", headers=owner.headers), 409,
                             "anomaly_already_decided")
        assert body["decided"] == "accepted"
    r = api.post(f"{base}/{rejects['id']}/accept", headers=owner.headers)
    assert r.status_code == 200, r.text
    r = api.post(f"{base}/{big['id']}/discard", headers=owner.headers)
    assert (r.status_code, r.json()["status"]) == (200, "discarded")

    # Accepted parts are production; the discarded million is not.
    live = _live(api, owner, s["id"], m["id"])
    assert (live["pending_anomalies"], live["good_count"], live["reject_count"]) == (0, 1000, 50)
    r = api.get("/api/v1/kpis/oee", params={"scope": "machine", "id": m["id"], "from": began.isoformat(),
                                            "to": datetime.now(UTC).isoformat()}, headers=owner.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["totals"]["good_count"], r.json()["totals"]["reject_count"]) == (1000, 50)
    r = api.get(base, params={"status": "pending"}, headers=owner.headers)
    assert r.json()["items"] == []
    r = api.get(base, params={"status": "accepted"}, headers=owner.headers)
    assert sorted(a["delta"] for a in r.json()["items"]) == [50, 1000]

    accepted, discarded = _audit(api, owner, "accept"), _audit(api, owner, "discard")
    assert sorted(e["entity_id"] for e in accepted) == sorted([good["id"], rejects["id"]])
    assert [e["entity_id"] for e in discarded] == [big["id"]]
    for entry in accepted + discarded:
        assert entry["actor_id"] == owner.user_id and entry["before"]["status"] == "pending"
        assert entry["after"]["status"] == entry["action"] + "ed"


def test_unknown_other_company_and_permission(api: httpx.Client, app_engine) -> None:
    owner, s, m, began = _running_plant(api)
    base = f"/api/v1/machines/{m['id']}/anomalies"
    _record(app_engine, owner, [_jump(m["id"], began + timedelta(minutes=5), 900)])
    (jump,) = api.get(base, headers=owner.headers).json()["items"]

    plant.problem(api.post(f"{base}/{uuid.uuid4()}/accept", headers=owner.headers), 404, "anomaly_not_found")
    plant.problem(api.get(f"/api/v1/machines/{uuid.uuid4()}/anomalies", headers=owner.headers), 404,
                  "machine_not_found")
    other_machine = plant.machine(api, owner, s["id"])
    plant.problem(api.post(f"/api/v1/machines/{other_machine['id']}/anomalies/{jump['id']}/accept",
                           headers=owner.headers), 404, "anomaly_not_found")
    plant.problem(api.get(base, params={"status": "maybe"}, headers=owner.headers), 422, "validation_failed",
                  "status")

    stranger = new_company(api)
    plant.problem(api.get(base, headers=stranger.headers), 404, "machine_not_found")
    plant.problem(api.post(f"{base}/{jump['id']}/discard", headers=stranger.headers), 404, "machine_not_found")
    assert _record_elsewhere_fails(app_engine, stranger, m["id"])

    operator = join(api, owner, "operator")
    assert [a["id"] for a in api.get(base, headers=operator.headers).json()["items"]] == [jump["id"]]
    plant.problem(api.post(f"{base}/{jump['id']}/accept", headers=operator.headers), 403, "permission_denied")
    supervisor = join(api, owner, "supervisor")
    r = api.post(f"{base}/{jump['id']}/discard", headers=supervisor.headers)
    assert (r.status_code, r.json()["decided_by"]) == (200, supervisor.user_id), r.text


def _record_elsewhere_fails(app_engine, who: Session, machine_id: str) -> bool:
    """Another company's sink cannot file an anomaly against this machine."""
    with pytest.raises(ValidationFailed) as caught:
        _record(app_engine, who, [_jump(machine_id, datetime.now(UTC), 900)])
    return caught.value.code == "machine_not_found"


def test_a_jump_too_large_for_a_minute_is_refused_not_a_500(api: httpx.Client, app_engine) -> None:
    owner, _s, m, began = _running_plant(api)
    _record(app_engine, owner, [_jump(m["id"], began + timedelta(minutes=1), 2**32)])
    (jump,) = api.get(f"/api/v1/machines/{m['id']}/anomalies", headers=owner.headers).json()["items"]
    plant.problem(api.post(f"/api/v1/machines/{m['id']}/anomalies/{jump['id']}/accept", headers=owner.headers), 422,
                  "anomaly_too_large", "delta")
    r = api.post(f"/api/v1/machines/{m['id']}/anomalies/{jump['id']}/discard", headers=owner.headers)
    assert r.status_code == 200, r.text


def test_a_decision_renews_the_shared_live_snapshot(api: httpx.Client, app_engine) -> None:
    """A snapshot that would be served for a long while is dropped for its company only."""
    owner, s, m, began = _running_plant(api)
    other, other_site, _m, _b = _running_plant(api)
    snapshots = LiveSnapshots(max_age=3600, clock=lambda: 1000.0)
    tenant, other_tenant = uuid.UUID(owner.tenant_id), uuid.UUID(other.tenant_id)

    def pending() -> int:
        with tenant_transaction(app_engine, tenant) as conn:
            view = snapshots.get(conn, tenant, uuid.UUID(s["id"]), lambda: datetime.now(UTC)).view
        return next(x.pending_anomalies for x in view.machines if str(x.machine_id) == m["id"])

    with tenant_transaction(app_engine, other_tenant) as conn:
        snapshots.get(conn, other_tenant, uuid.UUID(other_site["id"]), lambda: datetime.now(UTC))
    assert pending() == 0
    _record(app_engine, owner, [_jump(m["id"], began + timedelta(minutes=3), 700)])
    assert pending() == 0  # still the snapshot of before
    computed = snapshots.computed
    snapshots.forget(tenant)
    assert pending() == 1 and snapshots.computed == computed + 1
    with tenant_transaction(app_engine, other_tenant) as conn:
        snapshots.get(conn, other_tenant, uuid.UUID(other_site["id"]), lambda: datetime.now(UTC))
    assert snapshots.computed == computed + 1  # the other company's snapshot was kept
