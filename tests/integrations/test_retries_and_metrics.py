"""Retries, auto-disable and /metrics on a server of their own (its own database, so no other
server's worker takes its deliveries): retries wait 0.2 s doubling, 3 failures in a row disable
an endpoint, the poller runs, and /metrics wants a token. Scraped over HTTP and parsed with
prometheus_client's own parser."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine, text

from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from tests.accounts import Session, new_company
from tests.conftest import LiveServer, free_port
from tests.integrations.own_database import own_database
from tests.integrations.receiver import receiver
from tests.orders import order_support
from tests.production import plant
from tests.waiting import until

pytestmark = pytest.mark.slow  # a database migrated for this module, and a server with a poller

HOOKS = "/api/v1/webhooks"
TOKEN = "scrape-" + uuid.uuid4().hex


@dataclass
class Own:
    http: httpx.Client
    app_engine: Engine
    superuser: Engine


@pytest.fixture(scope="module")
def own(pg: EmbeddedPostgres, settings: Settings, authenticator, tmp_path_factory) -> Iterator[Own]:
    from server.app import create_app

    mine = settings.model_copy(update={
        "data_dir": tmp_path_factory.mktemp("own-data"), "metrics_token": SecretStr(TOKEN),
        "webhook_retry_seconds": 0.2, "webhook_disable_after": 3, "poller_reload_seconds": 0.5})
    with own_database(pg) as db:
        server = LiveServer(create_app(mine, db.urls.app, authenticator=authenticator, poller=True),
                            free_port()).start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                yield Own(http, db.app_engine, db.superuser)
        finally:
            server.stop()


def _hook(own: Own, who: Session, url: str) -> dict:
    r = own.http.post(HOOKS, json={"url": url, "events": ["order.status_changed"]}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _release_an_order(own: Own, who: Session) -> None:
    site = plant.site(own.http, who)
    machine = plant.machine(own.http, who, site["id"])
    product = order_support.product(own.app_engine, who.tenant_id, [(10, "Press", [(machine["id"], 20, 1)])])
    order = order_support.create(own.http, who, product_id=product["id"], status="planned")
    assert order_support.set_status(own.http, who, order["id"], "released").status_code == 200




def _deliveries(own: Own, who: Session, hook: dict) -> list[dict]:
    r = own.http.get(f"{HOOKS}/{hook['id']}/deliveries", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_failing_receiver_gets_retries_with_the_same_event_id(own: Own) -> None:
    owner = new_company(own.http)
    with receiver(script=[500, 503]) as rec:
        hook = _hook(own, owner, rec.url)
        rec.secret = hook["secret"]
        _release_an_order(own, owner)
        got = rec.wait_for(3)
    assert [r.status for r in got] == [500, 503, 200]
    assert all(r.signature_ok for r in got)
    assert len({r.headers["webhook-id"] for r in got}) == 1  # one event: the receiver de-duplicates on it
    assert {r.event["id"] for r in got} == {got[0].headers["webhook-id"]}
    stamps = [int(r.headers["webhook-timestamp"]) for r in got]
    assert stamps == sorted(stamps)  # each attempt signed when sent
    log = until(lambda: [d for d in _deliveries(own, owner, hook) if d["status"] == "delivered"], "delivered")
    assert log[0]["attempts"] == 3 and log[0]["last_status_code"] == 200 and log[0]["last_error"] is None


def test_an_endpoint_that_keeps_failing_is_disabled_audited_and_can_be_replayed(own: Own) -> None:
    owner = new_company(own.http)
    with receiver(script=[500] * 3) as rec:
        hook = _hook(own, owner, rec.url)
        _release_an_order(own, owner)
        rec.wait_for(3)
        shown = until(lambda: (h := own.http.get(f"{HOOKS}/{hook['id']}", headers=owner.headers).json())
                       and not h["enabled"] and h, "the endpoint disabled")
        assert shown["consecutive_failures"] == 3 and "3 failed attempts" in shown["disabled_reason"]
        time.sleep(1.0)
        assert len(rec.received) == 3  # nothing more is sent to a disabled endpoint
        with own.superuser.connect() as conn:
            audited = conn.execute(text(
                "select actor_id, before->>'enabled', after->>'enabled' from audit_log "
                "where tenant_id = :t and entity_id = :e and action = 'disable'"),
                {"t": owner.tenant_id, "e": hook["id"]}).all()
        assert [(a, b, c) for a, b, c in audited] == [(None, "true", "false")]
        # Enabled again: the waiting delivery goes out (the receiver answers 200 now).
        r = own.http.patch(f"{HOOKS}/{hook['id']}", json={"enabled": True}, headers=owner.headers)
        assert r.status_code == 200 and r.json()["consecutive_failures"] == 0, r.text
        rec.wait_for(4)
        until(lambda: [d for d in _deliveries(own, owner, hook) if d["status"] == "delivered"], "delivered")


def test_a_failed_delivery_is_replayed_with_its_event_id(own: Own) -> None:
    owner = new_company(own.http)
    with receiver(script=[500]) as rec:
        hook = _hook(own, owner, rec.url)
        test = own.http.post(f"{HOOKS}/{hook['id']}/test", headers=owner.headers).json()
        failed = until(lambda: [d for d in _deliveries(own, owner, hook) if d["status"] == "failed"], "failed")
        assert failed[0]["id"] == test["id"] and "HTTP 500" in failed[0]["last_error"]
        r = own.http.post(f"{HOOKS}/{hook['id']}/deliveries/{test['id']}/retry", headers=owner.headers)
        assert r.status_code == 200 and r.json()["status"] == "pending", r.text
        got = rec.wait_for(2)
        again = own.http.post(f"{HOOKS}/{hook['id']}/deliveries/{test['id']}/retry", headers=owner.headers)
    assert got[0].headers["webhook-id"] == got[1].headers["webhook-id"] == test["event_id"]
    until(lambda: [d for d in _deliveries(own, owner, hook) if d["status"] == "delivered"], "delivered")
    assert again.status_code in (200, 422)  # pending or delivered by now: only a failed one may be replayed
    if again.status_code == 422:
        assert again.json()["code"] == "webhook_delivery_not_failed"


def _scrape(own: Own, token: str | None = TOKEN) -> httpx.Response:
    return own.http.get("/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})


def _samples(body: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def test_metrics_need_the_token(own: Own) -> None:
    missing, wrong = _scrape(own, None), _scrape(own, "guess")
    assert (missing.status_code, missing.json()["code"]) == (401, "missing_token")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_token")
    assert missing.headers["www-authenticate"].startswith("Bearer")


def test_metrics_show_requests_pool_webhooks_and_the_poller(own: Own) -> None:
    owner = new_company(own.http)
    site = plant.site(own.http, owner)
    machine = plant.machine(own.http, owner, site["id"])
    # A PLC that does not answer: nothing listens on this port, so every read fails.
    body = {"protocol": "modbus", "enabled": True, "poll_interval": 0.2,
            "endpoint": {"host": "127.0.0.1", "port": free_port()},
            "signals": {"good": {"address": 0}, "reject": {"address": 1}, "state": {"address": 2}}}
    r = own.http.put(f"/api/v1/machines/{machine['id']}/connection", json=body, headers=owner.headers)
    assert r.status_code in (200, 201), r.text
    for _ in range(3):
        own.http.get(f"/api/v1/machines/{machine['id']}", headers=owner.headers)

    def poller_errors() -> dict | None:
        s = _samples(_scrape(own).text)
        errors = [x for x in s.get("factoryos_poller_read_errors_total", []) if x.labels["machine"] == machine["id"]]
        return s if errors and errors[0].value >= 2 else None

    s = until(poller_errors, "read errors of the machine in /metrics")
    # Other tests of this module's server used the same route (other methods and statuses):
    # compare like with like.
    ok_reads = {"route": "/api/v1/machines/{machine_id:uuid}", "method": "GET", "status": "200"}
    reads = [x for x in s["factoryos_http_requests_total"] if x.labels.items() >= ok_reads.items()]
    assert reads and reads[0].value >= 3
    assert not any(machine["id"] in x.labels["route"] for x in s["factoryos_http_requests_total"])  # templates only
    buckets = [x for x in s["factoryos_http_request_duration_seconds_bucket"]
               if x.labels.items() >= ok_reads.items() and x.labels["le"] == "+Inf"]
    assert buckets and buckets[0].value == reads[0].value
    up = [x for x in s["factoryos_poller_machine_up"] if x.labels["machine"] == machine["id"]]
    assert up and up[0].value == 0 and up[0].labels["company"] == owner.tenant_id
    assert {x.labels["state"] for x in s["factoryos_db_pool_connections"]} >= {"in_use", "idle", "size"}
    assert "factoryos_ingest_events_total" in s and "factoryos_poller_spool_events" in s
    assert sum(x.value for x in s["factoryos_poller_polls_total"]) >= 2
    # The other tests of this module delivered and failed webhooks on this server.
    results = {x.labels["result"]: x.value for x in s.get("factoryos_webhook_deliveries_total", [])}
    assert results.get("success", 0) >= 1 and results.get("failure", 0) >= 1
