"""A receiver that never answers holds only its own deliveries: the session server's delivery worker
sends another company's webhook, and the same company's other endpoint's, within a second or two
while that send still hangs (the client waits 10 s), and while earlier tests' companies have
receivers that are gone. Stopping a server cancels its hanging send cleanly, and the delivery stays
claimed until its lease runs out, then goes out again (at-least-once): that server has a database of
its own, so no other server's worker takes the delivery.

Dead receivers of many companies do not hold a healthy company either: with every shared slot taken
by sends that hang, its webhook still goes out within a second or two (each company's first send is
its own), and an endpoint whose last attempt failed is sent one delivery at a time until one
succeeds. A pass over companies with nothing due is one transaction, however many there are.

The hanging receiver is a real socket server that accepts the connection, reads the request and
never answers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import OperationalError

from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from factoryos.integrations.delivery import WebhookWorker
from factoryos.integrations.outbox import Fact, emit, emit_test
from factoryos.keys import secret_key
from tests.accounts import Session, new_company
from tests.conftest import LiveServer, free_port
from tests.integrations.own_database import own_database
from tests.integrations.receiver import receiver, serving
from tests.waiting import until

HOOKS = "/api/v1/webhooks"
PROMPT = 2.0  # seconds: a delivery that nothing holds arrives within a pass or two (1 s apart)


@contextlib.asynccontextmanager
async def running_worker(worker: WebhookWorker) -> AsyncIterator[None]:
    """The worker's loop while the block runs; cancelled after, as the server's stop cancels it."""
    task = asyncio.create_task(worker.run_forever())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class Hanging:
    """Accepts connections and reads each request, never answers."""

    url: str
    connections: list[socket.socket] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)  # when each request came (monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        until(lambda: len(self.connections) >= count, f"{count} connection(s) to the hanging receiver", timeout)


@contextmanager
def hanging_receiver() -> Iterator[Hanging]:
    server = socket.create_server(("127.0.0.1", 0), backlog=256)  # a pass may open over a hundred at once
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
                hanging.arrived.append(time.monotonic())

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


def _failures(conn: Connection, hook: dict) -> int:
    return conn.execute(text("select consecutive_failures from webhook_endpoints where id = :e"),
                        {"e": uuid.UUID(hook["id"])}).scalar_one()


def _set_aside_earlier_deliveries(own: Own) -> None:
    """Earlier tests' deliveries in the module's database are no longer due: only this test's are.
    A server still running may be writing outcomes of some (rows in its order): asked again on a deadlock."""
    for attempt in range(5):
        try:
            with own.superuser.begin() as conn:
                conn.execute(text("update webhook_deliveries set status = 'failed' where status = 'pending'"))
            return
        except OperationalError as exc:
            if not isinstance(exc.orig, psycopg.errors.DeadlockDetected) or attempt == 4:
                raise
            time.sleep(0.1)


def _emit_tests(own: Own, who: Session, hooks: list[dict], count: int) -> None:
    """`count` test events of the company, spread over its endpoints in turn."""
    tenant = uuid.UUID(who.tenant_id)
    with tenant_transaction(own.app_engine, tenant) as conn:
        for i in range(count):
            emit_test(conn, tenant, uuid.UUID(hooks[i % len(hooks)]["id"]))


def test_dead_receivers_of_many_companies_do_not_hold_a_healthy_companys_webhook(
        running: Running, own: Own, caplog: pytest.LogCaptureFixture) -> None:
    http = running.http
    _set_aside_earlier_deliveries(own)
    dead_companies = [new_company(http) for _ in range(6)]
    healthy = new_company(http)
    with hanging_receiver() as dead, receiver() as live:
        dead_hooks = [(who, [_hook(http, who, f"{dead.url}/{i}") for i in range(4)]) for who in dead_companies]
        hook = _hook(http, healthy, live.url)
        live.secret = hook["secret"]
        running.server.stop()  # from here on the worker below is the only one
        for who, hooks in dead_hooks:
            _emit_tests(own, who, hooks, 50)
        # The server's bounds (128 shared, 32 per company, 8 per endpoint) and client timeout (10 s):
        # six companies of four dead endpoints each want 192 sends at once.
        worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)))

        async def run() -> float:
            async with running_worker(worker):
                await asyncio.to_thread(dead.wait_for, 128)  # every shared slot held by a send that hangs
                await asyncio.to_thread(_emit_tests, own, healthy, [hook], 1)
                start = time.monotonic()
                await asyncio.to_thread(live.wait_for, 1, PROMPT + 1)
                return time.monotonic() - start

        caplog.clear()
        with caplog.at_level(logging.WARNING):
            took = asyncio.run(run())
            gc.collect()
        assert took < PROMPT, f"the healthy company's webhook took {took:.1f} s"
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
        (got,) = live.received
        assert got.signature_ok
        # The shared slots and one of each dead company's own: nothing more went to the dead receivers.
        dead.wait_for(128 + 6, timeout=2)
        assert len(dead.connections) == 128 + 6
    with own.superuser.connect() as conn:
        rows = conn.execute(text(
            "select status, attempts, count(*) as n from webhook_deliveries where tenant_id = any(:t) "
            "group by status, attempts order by attempts"),
            {"t": [uuid.UUID(who.tenant_id) for who in dead_companies]}).all()
        mine = conn.execute(text("select status, attempts from webhook_deliveries where tenant_id = :t"),
                            {"t": uuid.UUID(healthy.tenant_id)}).one()
    # Claimed and cancelled: still pending, due again when the lease runs out; the rest never claimed.
    assert [(r.status, r.attempts, r.n) for r in rows] == [("pending", 0, 300 - 134), ("pending", 1, 134)]
    assert tuple(mine) == ("delivered", 1)


@dataclass
class Timed:
    """A receiver that takes `hold` seconds to answer each request and keeps when each ran."""

    url: str
    script: list[int]
    spans: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of each request
    lock: threading.Lock = field(default_factory=threading.Lock)


def _at_once(spans: list[tuple[float, float]]) -> int:
    """The most of `spans` that ran at one moment."""
    return max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)


@contextmanager
def timed_receiver(script: list[int], hold: float) -> Iterator[Timed]:
    state: dict[str, Timed] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
            start = time.monotonic()
            self.rfile.read(int(self.headers.get("content-length", "0")))
            time.sleep(hold)
            with state["r"].lock:
                status = state["r"].script.pop(0) if state["r"].script else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
            with state["r"].lock:
                state["r"].spans.append((start, time.monotonic()))

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as port:
        state["r"] = Timed(f"http://127.0.0.1:{port}/hook", list(script))
        yield state["r"]


def test_an_endpoint_whose_last_attempt_failed_is_sent_one_delivery_at_a_time_until_one_succeeds(
        running: Running, own: Own) -> None:
    http = running.http
    _set_aside_earlier_deliveries(own)
    owner = new_company(http)
    with timed_receiver([503] * 8, hold=0.5) as slow:
        hook = _hook(http, owner, slow.url)
        running.server.stop()
        _emit_tests(own, owner, [hook], 30)
        worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)), interval=0.2)

        async def run() -> None:
            async with running_worker(worker):
                await asyncio.to_thread(until, lambda: len(slow.spans) >= 30, "30 requests", 20)
                await asyncio.sleep(0.3)  # their outcomes written

        asyncio.run(run())
        spans = sorted(slow.spans)
    first, probe, after = spans[:8], spans[8], spans[9:]
    assert _at_once(first) == 8  # nothing known against the endpoint yet: its full share at once
    assert probe[0] >= max(e for _, e in first)  # all eight failed: the next one goes alone,
    assert after[0][0] >= probe[1]
    assert _at_once(after) == 8  # and once it succeeded, eight at once again
    with own.superuser.connect() as conn:
        rows = conn.execute(text(
            "select status, attempts, count(*) as n from webhook_deliveries where endpoint_id = :e "
            "group by status, attempts order by status"), {"e": uuid.UUID(hook["id"])}).all()
        failures = _failures(conn, hook)
    assert [tuple(r) for r in rows] == [("delivered", 1, 22), ("failed", 1, 8)]  # a test event is tried once
    assert failures == 0


def test_run_once_sends_everything_due_though_sends_end_while_it_claims(running: Running, own: Own) -> None:
    http = running.http
    _set_aside_earlier_deliveries(own)
    owner = new_company(http)
    with timed_receiver([], hold=0.3) as slow:
        hook = _hook(http, owner, slow.url)
        running.server.stop()
        _emit_tests(own, owner, [hook], 30)
        worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)))
        assert asyncio.run(worker.run_once()) == 30
        assert len(slow.spans) == 30


def test_a_receiver_that_timed_out_is_sent_one_delivery_at_a_time(running: Running, own: Own) -> None:
    http = running.http
    _set_aside_earlier_deliveries(own)
    owner = new_company(http)
    with hanging_receiver() as dead:
        hook = _hook(http, owner, dead.url)
        running.server.stop()
        _emit_tests(own, owner, [hook], 20)
        timeout = 0.5
        worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)), timeout=timeout)

        async def run() -> None:
            async with running_worker(worker):
                await asyncio.to_thread(dead.wait_for, 8 + 3)

        asyncio.run(run())
        arrived = list(dead.arrived)
    # Eight at once, all timed out; then one at a time, each after the one before timed out.
    assert arrived[7] - arrived[0] < timeout
    assert all(b - a >= timeout * 0.9 for a, b in zip(arrived[7:], arrived[8:], strict=False)), arrived


def test_a_pass_over_companies_with_nothing_due_is_one_transaction(running: Running, own: Own) -> None:
    http = running.http
    _set_aside_earlier_deliveries(own)
    for _ in range(20):
        _hook(http, new_company(http), "http://127.0.0.1:9/factory")
    running.server.stop()
    worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)))
    with own.superuser.connect() as conn:
        assert conn.execute(text("select count(*) from webhook_companies()")).scalar_one() >= 20
    begun: list[Connection] = []

    def began(conn: Connection) -> None:
        begun.append(conn)

    event.listen(own.app_engine, "begin", began)
    try:
        assert asyncio.run(worker.run_once()) == 0
    finally:
        event.remove(own.app_engine, "begin", began)
    assert len(begun) == 1


def test_a_test_event_goes_before_the_backlog_of_an_endpoint_being_probed(running: Running, own: Own) -> None:
    """The receiver was down (its last attempt failed: one delivery at a time) with a backlog; the admin
    fixes it and sends a test event: that goes first, and its success lets the backlog flow."""
    http = running.http
    _set_aside_earlier_deliveries(own)
    owner = new_company(http)
    tenant = uuid.UUID(owner.tenant_id)
    with timed_receiver([], hold=0.2) as fixed:
        hook = _hook(http, owner, fixed.url)
        running.server.stop()
        with tenant_transaction(own.app_engine, tenant) as conn:
            emit(conn, tenant, [Fact("order.status_changed", datetime.now(UTC), {"n": n}) for n in range(12)])
        with own.superuser.begin() as conn:  # as a failed attempt leaves it
            conn.execute(text("update webhook_endpoints set consecutive_failures = 3 where id = :e"),
                         {"e": uuid.UUID(hook["id"])})
        _emit_tests(own, owner, [hook], 1)
        worker = WebhookWorker(own.app_engine, DerivedKeys.from_secret(secret_key(own.settings)))
        assert asyncio.run(worker.run_once()) == 13
        spans = sorted(fixed.spans)
    with own.superuser.connect() as conn:
        first = conn.execute(text(
            "select ev.event_type from webhook_deliveries d join webhook_events ev on ev.id = d.event_id "
            "where d.endpoint_id = :e order by d.last_attempt_at, d.id limit 1"), {"e": uuid.UUID(hook["id"])}).scalar()
        failures = _failures(conn, hook)
    assert first == "webhook.test"
    assert spans[1][0] >= spans[0][1]  # the test alone (a probe), then the backlog at the full share
    assert _at_once(spans[1:]) == 8 and failures == 0
