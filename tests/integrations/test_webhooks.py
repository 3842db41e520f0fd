"""Webhooks through the real app: endpoints per company, events written with the facts, signed
deliveries to a real receiver on loopback (the session server's own delivery worker sends them)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from sqlalchemy import Engine, text

from factoryos.db.tenant import tenant_transaction
from factoryos.integrations.signing import PREFIX, sign_headers, verify
from factoryos.production.state_batch import StateRow, record_state_changes
from tests.accounts import Session, join, new_company
from tests.integrations.receiver import Received, receiver
from tests.orders import order_support
from tests.production import plant

HOOKS = "/api/v1/webhooks"


def _add(http: httpx.Client, who: Session, url: str, events: list[str], **over) -> dict:
    r = http.post(HOOKS, json={"url": url, "events": events, **over}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _problem(r: httpx.Response, status: int, code: str, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.text
    if field is not None:
        assert r.json().get("field") == field, r.text


def _of_type(received: list[Received], kind: str) -> list[Received]:
    return [r for r in received if r.event["type"] == kind]


def test_the_signature_covers_id_timestamp_and_body() -> None:
    secret = PREFIX + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
    body = b'{"id":"e1","type":"webhook.test"}'
    now = time.time()
    headers = sign_headers(secret, "e1", body, now=now)
    assert verify(secret, headers, body, now=now)
    assert headers["webhook-signature"].startswith("v1,")
    assert not verify(secret, headers, body + b" ", now=now)  # body changed
    assert not verify(secret, headers | {"webhook-id": "e2"}, body, now=now)  # id swapped
    assert not verify(PREFIX + "b3RoZXI=", headers, body, now=now)  # another secret
    assert not verify(secret, headers, body, now=now + 301)  # replayed six minutes later
    # Several signatures (e.g. while a secret is rotated): one that matches is enough.
    both = headers | {"webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
    assert verify(secret, both, body, now=now)


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(http: httpx.Client, superuser_engine: Engine) -> None:
    owner = new_company(http)
    made = _add(http, owner, "http://10.20.0.5:8000/factory", ["order.status_changed", "anomaly.recorded"],
                description="MES bridge")
    assert made["secret"].startswith(PREFIX) and made["enabled"] is True
    assert made["events"] == ["anomaly.recorded", "order.status_changed"]
    shown = http.get(f"{HOOKS}/{made['id']}", headers=owner.headers).json()
    listed = http.get(HOOKS, headers=owner.headers).json()["items"]
    assert "secret" not in shown and [i["id"] for i in listed] == [made["id"]]
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select secret_encrypted from webhook_endpoints where id = :i"),
                              {"i": made["id"]}).scalar_one()
        audited = conn.execute(text("select after::text from audit_log where tenant_id = :t and entity_id = :i"),
                               {"t": owner.tenant_id, "i": made["id"]}).scalars().all()
    assert made["secret"] not in stored  # encrypted at rest
    assert len(audited) == 1 and made["secret"] not in audited[0] and "MES bridge" in audited[0]


@pytest.mark.parametrize("url", ["ftp://files.plant.lan/x", "plant.lan/hook", "http://", "http://user:pw@mes.lan/h",
                                 "http://mes.lan:99999/h", "http://mes..lan/h", "http://mes lan/h"])
def test_addresses_must_be_http_or_https_urls(http: httpx.Client, url: str) -> None:
    owner = new_company(http)
    r = http.post(HOOKS, json={"url": url, "events": ["anomaly.recorded"]}, headers=owner.headers)
    _problem(r, 422, "webhook_url_invalid", "url")


def test_unknown_events_and_members_without_admin_rights_are_refused(http: httpx.Client) -> None:
    owner = new_company(http)
    r = http.post(HOOKS, json={"url": "https://mes.lan/h", "events": ["machine.exploded"]}, headers=owner.headers)
    _problem(r, 422, "validation_failed", "events.0")
    manager = join(http, owner, "plant_manager")
    _problem(http.get(HOOKS, headers=manager.headers), 403, "permission_denied")
    _problem(http.post(HOOKS, json={"url": "https://mes.lan/h", "events": ["anomaly.recorded"]},
                       headers=manager.headers), 403, "permission_denied")


def test_a_test_event_arrives_signed_and_shows_in_the_delivery_log(http: httpx.Client) -> None:
    owner = new_company(http)
    with receiver() as rec:
        hook = _add(http, owner, rec.url, ["anomaly.recorded"])
        rec.secret = hook["secret"]
        queued = http.post(f"{HOOKS}/{hook['id']}/test", headers=owner.headers)
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "pending"
        got = rec.wait_for(1)[0]
    assert got.signature_ok is True
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == got.event["id"] == queued.json()["event_id"]
    assert got.event["type"] == "webhook.test" and got.event["company_id"] == owner.tenant_id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        log = http.get(f"{HOOKS}/{hook['id']}/deliveries", headers=owner.headers).json()["items"]
        if log and log[0]["status"] == "delivered":
            break
        time.sleep(0.1)
    assert log[0]["status"] == "delivered" and log[0]["attempts"] == 1 and log[0]["last_status_code"] == 200


def test_order_status_changes_reach_only_their_own_company(http: httpx.Client, app_engine: Engine) -> None:
    a, b = new_company(http), new_company(http)
    with receiver() as rec_a, receiver() as rec_b:
        hook_a = _add(http, a, rec_a.url, ["order.status_changed"])
        rec_a.secret = hook_a["secret"]
        _add(http, b, rec_b.url, ["order.status_changed"])
        site = plant.site(http, a)
        machine = plant.machine(http, a, site["id"])
        product = order_support.product(app_engine, a.tenant_id, [(10, "Press", [(machine["id"], 20, 1)])])
        order = order_support.create(http, a, product_id=product["id"], status="planned")
        r = order_support.set_status(http, a, order["id"], "released", "material in")
        assert r.status_code == 200, r.text
        got = rec_a.wait_for(1)[0]
        time.sleep(1.5)  # a pass of the worker or two: nothing may reach company B
        assert rec_b.received == []
    assert got.signature_ok is True
    assert got.event["type"] == "order.status_changed" and got.event["company_id"] == a.tenant_id
    assert got.event["data"] == {"order_id": order["id"], "order_number": order["job_number"],
                                 "status": "released", "previous_status": "planned"}
    # B cannot see, change, test or remove A's endpoint: to B it does not exist.
    for method, path in [("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/test"), ("GET", "/deliveries")]:
        r = http.request(method, f"{HOOKS}/{hook_a['id']}{path}", headers=b.headers,
                         json={"enabled": False} if method == "PATCH" else None)
        _problem(r, 404, "webhook_not_found")
    assert [i["id"] for i in http.get(HOOKS, headers=b.headers).json()["items"]] != [hook_a["id"]]


def test_state_changes_and_downtime_are_sent_as_the_poller_stores_them(http: httpx.Client, app_engine: Engine) -> None:
    owner = new_company(http)
    site = plant.site(http, owner)
    machine = plant.machine(http, owner, site["id"])
    t0 = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
    changes = [StateRow(machine["id"], "running", 1, t0),
               StateRow(machine["id"], "unplanned_stop", 4, t0 + timedelta(minutes=10)),
               StateRow(machine["id"], "unplanned_stop", 5, t0 + timedelta(minutes=11)),  # new code, same state
               StateRow(machine["id"], "running", 1, t0 + timedelta(minutes=20))]
    with receiver() as rec:
        hook = _add(http, owner, rec.url, ["machine.state_changed", "downtime.started", "downtime.ended"])
        rec.secret = hook["secret"]
        with tenant_transaction(app_engine, UUID(owner.tenant_id)) as conn:
            record_state_changes(conn, UUID(owner.tenant_id), changes)
        got = rec.wait_for(7)
        time.sleep(1.0)
        assert len(rec.received) == 7
    assert all(r.signature_ok for r in got)
    states = sorted((r.event["data"]["at"], r.event["data"]["previous_state"], r.event["data"]["state"])
                    for r in _of_type(got, "machine.state_changed"))
    assert [(p, s) for _, p, s in states] == [(None, "running"), ("running", "unplanned_stop"),
                                              ("unplanned_stop", "running")]
    # The stop's two intervals (codes 4 and 5) are two downtime events, both over by the batch's end.
    spans = sorted((r.event["data"]["started_at"], r.event["data"]["ended_at"]) for r in _of_type(got, "downtime.ended"))
    assert spans == [("2026-09-01T06:10:00+00:00", "2026-09-01T06:11:00+00:00"),
                     ("2026-09-01T06:11:00+00:00", "2026-09-01T06:20:00+00:00")]
    assert sorted(r.event["data"]["started_at"] for r in _of_type(got, "downtime.started")) == [s for s, _ in spans]
    assert len({r.headers["webhook-id"] for r in got}) == 7  # one id per event


def test_without_a_subscriber_nothing_is_queued(http: httpx.Client, app_engine: Engine,
                                                superuser_engine: Engine) -> None:
    owner = new_company(http)
    site = plant.site(http, owner)
    machine = plant.machine(http, owner, site["id"])
    _add(http, owner, "https://mes.lan/h", ["anomaly.recorded"])  # another event type only
    with tenant_transaction(app_engine, UUID(owner.tenant_id)) as conn:
        record_state_changes(conn, UUID(owner.tenant_id), [StateRow(machine["id"], "running", 1, datetime.now(UTC))])
    with superuser_engine.connect() as conn:
        count = conn.execute(text("select count(*) from webhook_events where tenant_id = :t"),
                             {"t": owner.tenant_id}).scalar_one()
    assert count == 0



def test_a_batch_queues_only_the_types_enabled_endpoints_subscribe_to(http: httpx.Client, app_engine: Engine,
                                                                      superuser_engine: Engine) -> None:
    owner = new_company(http)
    site = plant.site(http, owner)
    machine = plant.machine(http, owner, site["id"])
    _add(http, owner, "https://mes.lan/downtime", ["downtime.started"])
    off = _add(http, owner, "https://mes.lan/states", ["machine.state_changed", "downtime.ended"])
    r = http.patch(f"{HOOKS}/{off['id']}", json={"enabled": False}, headers=owner.headers)
    assert r.status_code == 200, r.text
    t0 = datetime(2026, 9, 2, 6, 0, tzinfo=UTC)
    changes = [StateRow(machine["id"], "running", 1, t0),
               StateRow(machine["id"], "unplanned_stop", 4, t0 + timedelta(minutes=10)),
               StateRow(machine["id"], "running", 1, t0 + timedelta(minutes=20))]
    with tenant_transaction(app_engine, UUID(owner.tenant_id)) as conn:
        record_state_changes(conn, UUID(owner.tenant_id), changes)
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select event_type, payload->'data'->>'started_at' from webhook_events "
                                   "where tenant_id = :t"), {"t": owner.tenant_id}).all()
    assert [tuple(r) for r in stored] == [("downtime.started", "2026-09-02T06:10:00+00:00")]

def test_patch_disable_and_delete(http: httpx.Client) -> None:
    owner = new_company(http)
    hook = _add(http, owner, "https://mes.lan/h", ["anomaly.recorded"])
    r = http.patch(f"{HOOKS}/{hook['id']}", json={"enabled": False, "events": ["downtime.started"]},
                   headers=owner.headers)
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False and r.json()["events"] == ["downtime.started"]
    _problem(http.patch(f"{HOOKS}/{hook['id']}", json={"url": "gopher://x"}, headers=owner.headers), 422,
             "webhook_url_invalid", "url")
    assert http.delete(f"{HOOKS}/{hook['id']}", headers=owner.headers).status_code == 204
    _problem(http.get(f"{HOOKS}/{hook['id']}", headers=owner.headers), 404, "webhook_not_found")


def test_metrics_are_off_without_a_token(http: httpx.Client) -> None:
    _problem(http.get("/metrics"), 404, "metrics_disabled")


def test_a_rotated_secret_overlaps_with_the_old_one(http: httpx.Client) -> None:
    owner = new_company(http)
    with receiver() as rec:
        hook = _add(http, owner, rec.url, ["anomaly.recorded"])
        old = hook["secret"]
        r = http.post(f"{HOOKS}/{hook['id']}/rotate-secret", json={"overlap_hours": 1}, headers=owner.headers)
        assert r.status_code == 200, r.text
        new = r.json()["secret"]
        assert new != old and r.json()["previous_secret_until"] is not None
        http.post(f"{HOOKS}/{hook['id']}/test", headers=owner.headers)
        during = rec.wait_for(1)[0]
        # No overlap: from now on only the new secret signs.
        r = http.post(f"{HOOKS}/{hook['id']}/rotate-secret", json={"overlap_hours": 0}, headers=owner.headers)
        newest = r.json()["secret"]
        assert r.json()["previous_secret_until"] is None
        http.post(f"{HOOKS}/{hook['id']}/test", headers=owner.headers)
        after = rec.wait_for(2)[1]
    assert len(during.headers["webhook-signature"].split()) == 2
    assert verify(new, during.headers, during.body) and verify(old, during.headers, during.body)
    assert len(after.headers["webhook-signature"].split()) == 1
    assert verify(newest, after.headers, after.body) and not verify(new, after.headers, after.body)


def test_recorded_downtime_and_its_reason_are_sent(http: httpx.Client) -> None:
    owner = new_company(http)
    site = plant.site(http, owner)
    machine = plant.machine(http, owner, site["id"])
    reasons = http.get("/api/v1/downtime/reasons", headers=owner.headers).json()["items"]
    jam = next(r for r in reasons if r["code"] == "MINOR_STOP.JAM")
    with receiver() as rec:
        hook = _add(http, owner, rec.url, ["downtime.started", "downtime.ended", "downtime.reasoned"])
        rec.secret = hook["secret"]
        r = http.post("/api/v1/downtime", json={"machine_id": machine["id"], "started_at": "2026-09-02T08:00:00Z",
                                                "planned": False}, headers=owner.headers)
        assert r.status_code == 201, r.text
        event = r.json()
        r = http.patch(f"/api/v1/downtime/{event['id']}", json={"ended_at": "2026-09-02T08:20:00Z"},
                       headers=owner.headers)
        assert r.status_code == 200, r.text
        r = http.post(f"/api/v1/downtime/{event['id']}/reason", json={"reason_id": jam["id"]}, headers=owner.headers)
        assert r.status_code == 200, r.text
        got = rec.wait_for(3)
    assert all(g.signature_ok for g in got)
    by_type = {g.event["type"]: g.event["data"] for g in got}
    assert by_type["downtime.started"]["source"] == "manual" and by_type["downtime.started"]["ended_at"] is None
    assert by_type["downtime.ended"]["ended_at"] == "2026-09-02T08:20:00+00:00"
    assert by_type["downtime.reasoned"] == {
        "downtime_id": event["id"], "machine_id": machine["id"], "started_at": "2026-09-02T08:00:00+00:00",
        "ended_at": "2026-09-02T08:20:00+00:00", "reason_id": jam["id"], "planned": False}
