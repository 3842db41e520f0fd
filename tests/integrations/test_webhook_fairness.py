"""A receiver that never answers holds only its own deliveries: the session server's delivery worker
sends another company's webhook, and the same company's other endpoint's, within a second or two
while that send still hangs (the client waits 10 s), and while earlier tests' companies have
receivers that are gone. Stopping a server cancels its hanging send cleanly, and the delivery stays
claimed until its lease runs out, then goes out again (at-least-once): that server has a database of
its own, so no other server's worker takes the delivery.

The hanging receiver is a real socket server that accepts the connection, reads the request and
never answers."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import Engine, text

from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.delivery import WebhookWorker
from factoryos.integrations.outbox import emit_test
from factoryos.keys import secret_key
from tests.accounts import Session, new_company
from tests.conftest import LiveServer, free_port
from tests.integrations.own_database import own_database
from tests.integrations.receiver import receiver
from tests.waiting import until

HOOKS = "/api/v1/webhooks"
PROMPT = 2.0  # seconds: a delivery that nothing holds arrives within a pass or two (1 s apart)


@dataclass
class Hanging:
    """Accepts connections and reads each request, never answers."""

    url: str
    connections: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        until(lambda: len(self.connections) >= count, f"{count} connection(s) to the hanging receiver", timeout)


@contextmanager
def hanging_receiver() -> Iterator[Hanging]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    hanging = Hanging(f"http://127.0.0.1:{server.getsockname()[1]}/factory")
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.recv(65536)  # the request, which is never answered
            with hanging.lock:
                hanging.connections.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield hanging
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in hanging.connections:
            conn.close()
        server.close()


@dataclass
class Own:
    urls: DatabaseUrls
    settings: Settings
    authenticator: object
    app_engine: Engine
    superuser: Engine


@pytest.fixture(scope="module")
def own(pg: EmbeddedPostgres, settings: Settings, authenticator, tmp_path_factory) -> Iterator[Own]:
    mine = settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("fairness-data")})
    with own_database(pg) as db:
        yield Own(db.urls, mine, authenticator, db.app_engine, db.superuser)


@dataclass
class Running:
    server: LiveServer
    http: httpx.Client


@pytest.fixture()
def running(own: Own) -> Iterator[Running]:
    """A server of the module's own database: the one webhook delivery worker on it (until stopped)."""
    from server.app import create_app

    server = LiveServer(create_app(own.settings, own.urls.app, authenticator=own.authenticator), free_port()).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            yield Running(server, http)
    finally:
        server.stop()


def _hook(http: httpx.Client, who: Session, url: str) -> dict:
    r = http.post(HOOKS, json={"url": url, "events": ["order.status_changed"]}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _ping(http: httpx.Client, who: Session, hook: dict) -> dict:
    r = http.post(f"{HOOKS}/{hook['id']}/test", headers=who.headers)
    assert r.status_code == 202, r.text
    return r.json()


def _delivery(http: httpx.Client, who: Session, hook: dict, delivery_id: str) -> dict:
    r = http.get(f"{HOOKS}/{hook['id']}/deliveries", headers=who.headers)
    assert r.status_code == 200, r.text
    (found,) = [d for d in r.json()["items"] if d["id"] == delivery_id]
    return found


def test_a_dead_receiver_of_one_company_does_not_hold_another_companys_webhook(http: httpx.Client) -> None:
    a, b = new_company(http), new_company(http)
    with hanging_receiver() as dead, receiver() as live:
        dead_hook = _hook(http, a, dead.url)
        stuck = _ping(http, a, dead_hook)
        dead.wait_for(1)  # A's send is in flight, and waits for an answer that never comes
        hook = _hook(http, b, live.url)
        live.secret = hook["secret"]
        sent = _ping(http, b, hook)
        start = time.monotonic()
        (got,) = live.wait_for(1, timeout=PROMPT + 1)
        took = time.monotonic() - start
        assert took < PROMPT, f"B's webhook took {took:.1f} s"
        assert got.signature_ok and got.headers["webhook-id"] == sent["event_id"]
        until(lambda: _delivery(http, b, hook, sent["id"])["status"] == "delivered", "B's delivery written", PROMPT)
        # A's attempt still runs: claimed, not yet answered.
        assert _delivery(http, a, dead_hook, stuck["id"])["status"] == "pending"


def test_a_dead_endpoint_does_not_hold_the_same_companys_live_endpoint(http: httpx.Client) -> None:
    owner = new_company(http)
    with hanging_receiver() as dead, receiver() as live:
        dead_hook, live_hook = _hook(http, owner, dead.url), _hook(http, owner, live.url)
        live.secret = live_hook["secret"]
        # Queued together: the live one is sent and written while the dead one hangs.
        _ping(http, owner, dead_hook)
        first = _ping(http, owner, live_hook)
        start = time.monotonic()
        until(lambda: _delivery(http, owner, live_hook, first["id"])["status"] == "delivered",
              "the live endpoint's delivery written", PROMPT + 1)
        assert time.monotonic() - start < PROMPT
        dead.wait_for(1)
        # Queued while the dead endpoint's send still hangs: not held behind it either.
        second = _ping(http, owner, live_hook)
        start = time.monotonic()
        until(lambda: _delivery(http, owner, live_hook, second["id"])["status"] == "delivered",
              "the second delivery written", PROMPT + 1)
        assert time.monotonic() - start < PROMPT
        assert [r.headers["webhook-id"] for r in live.received] == [first["event_id"], second["event_id"]]
        assert len(dead.connections) == 1


def test_stopping_the_server_cancels_a_hanging_send_and_its_delivery_goes_out_again(
        running: Running, own: Own, caplog: pytest.LogCaptureFixture) -> None:
    http = running.http
    owner = new_company(http)
    with hanging_receiver() as dead, receiver() as live:
        hook = _hook(http, owner, dead.url)
        stuck = _ping(http, owner, hook)
        dead.wait_for(1)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            start = time.monotonic()
            running.server.stop()
            gc.collect()  # a task left pending would be reported as it is collected
        assert time.monotonic() - start < 5  # the send does not wait out its client timeout
        assert not running.server.thread.is_alive()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        with own.superuser.connect() as conn:
            row = conn.execute(text(
                "select status, attempts, next_attempt_at - now() as left from webhook_deliveries where id = :id"),
                {"id": uuid.UUID(stuck["id"])}).one()
            assert row.status == "pending" and row.attempts == 1
            assert row.left.total_seconds() > 60  # still claimed: its lease runs on
            # The lease ran out (the clock moved on), and the receiver is reachable again at a new address.
            conn.execute(text("update webhook_deliveries set next_attempt_at = now() where id = :id"),
                         {"id": uuid.UUID(stuck["id"])})
            conn.execute(text("update webhook_endpoints set url = :u where id = :id"),
                         {"u": live.url, "id": uuid.UUID(hook["id"])})
            conn.commit()
        live.secret = hook["secret"]
        worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)))
        assert asyncio.run(worker.run_once()) == 1
        (again,) = live.received
        assert again.signature_ok and again.headers["webhook-id"] == stuck["event_id"]
        with own.superuser.connect() as conn:
            status, attempts = conn.execute(text("select status, attempts from webhook_deliveries where id = :id"),
                                            {"id": uuid.UUID(stuck["id"])}).one()
        assert (status, attempts) == ("delivered", 2)


def test_one_endpoint_takes_at_most_its_share_of_the_sends_at_once(
        running: Running, own: Own, caplog: pytest.LogCaptureFixture) -> None:
    owner = new_company(running.http)
    with hanging_receiver() as dead, receiver() as live:
        dead_hook, live_hook = _hook(running.http, owner, dead.url), _hook(running.http, owner, live.url)
        running.server.stop()  # from here on the worker below is the only one
        tenant = uuid.UUID(owner.tenant_id)
        with tenant_transaction(own.app_engine, tenant) as conn:
            for hook, count in ((dead_hook, 5), (live_hook, 3)):
                for _ in range(count):
                    emit_test(conn, tenant, uuid.UUID(hook["id"]))
        # Three sends at once in all, two per endpoint: the dead endpoint's two hang, and the live
        # endpoint's three go out one after the other in the slot left.
        worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)),
                               interval=0.2, in_flight=3, per_endpoint=2)

        async def run() -> None:
            task = asyncio.create_task(worker.run_forever())
            deadline = time.monotonic() + 5
            while (len(live.received) < 3 or len(dead.connections) < 2) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.6)  # a few more passes: nothing more for the dead endpoint
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        caplog.clear()
        with caplog.at_level(logging.WARNING):
            asyncio.run(run())
            gc.collect()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        assert len(live.received) == 3 and len(dead.connections) == 2
    with own.superuser.connect() as conn:
        rows = conn.execute(text(
            "select endpoint_id, status, attempts from webhook_deliveries where tenant_id = :t"), {"t": tenant}).all()
    dead_rows = sorted((r.status, r.attempts) for r in rows if str(r.endpoint_id) == dead_hook["id"])
    live_rows = [(r.status, r.attempts) for r in rows if str(r.endpoint_id) == live_hook["id"]]
    assert dead_rows == [("pending", 0)] * 3 + [("pending", 1)] * 2  # two claimed, three never claimed
    assert live_rows == [("delivered", 1)] * 3
