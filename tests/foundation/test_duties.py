"""The installation's duties across hosts: decided by an advisory lock in PostgreSQL.

Two servers with their own data directories (two hosts) on one database: exactly one runs the
duties, seen at a real Mosquitto as exactly one MQTT publishing session (one Sparkplug NBIRTH).
When the holder is cut off from the database (its duty connection terminated, reconnecting
refused), it steps down and the other takes over within a bound, the two never at once; a duty
connection that merely ends leaves one holder too; when the other stops cleanly, the first takes
the duties back.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
import paho.mqtt.client as paho
import psycopg
import pytest
from sqlalchemy import create_engine, make_url, pool, text

from factoryos.config import Settings
from factoryos.db import migrate
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls
from factoryos.db.roles import libpq_url
from factoryos.duties import DutyLock, holder
from server.app import create_app
from server.duties import DutyClaim
from server.state import server_state
from tests.accounts import new_company
from tests.conftest import LiveServer, free_port
from tests.connectivity.mqtt_broker import PASSWORD, USER, running_broker
from tests.production import plant
from tests.waiting import until

URL = "/api/v1/integrations/mqtt-publish"
FAST = {"check_seconds": 0.5, "check_timeout": 1.0, "retry_seconds": 0.5}  # takeover delay 3.5 s
UNREACHABLE = "postgresql://factoryos_app@127.0.0.1:1/nowhere"  # a host cut off from the database


_until = partial(until, step=0.05)  # a holder change is seen within a check period


def _name(url: str) -> str:
    database = make_url(url).database
    assert database is not None
    return database


def _terminate(pg: EmbeddedPostgres, database: str, pid: int) -> None:
    engine = create_engine(pg.url("postgres", database), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    finally:
        engine.dispose()


def test_one_lock_holder_named_in_the_database_and_taken_over_when_its_session_ends(pg: EmbeddedPostgres) -> None:
    with _database(pg) as db_urls:  # not the session database: the session server holds its duties
        _one_lock_holder(pg, db_urls)


def _one_lock_holder(pg: EmbeddedPostgres, db_urls: DatabaseUrls) -> None:
    async def scenario() -> None:
        a, b = DutyLock(db_urls.app, host="host-a", **FAST), DutyLock(db_urls.app, host="host-b", **FAST)
        try:
            assert await a.try_acquire() and a.held
            assert not await b.try_acquire() and not b.held  # the app role takes it: no privilege needed
            with psycopg.connect(libpq_url(db_urls.app)) as conn:
                named = holder(conn)
            assert named is not None and named.host == "host-a" and named.since == a.held_since
            assert "held by host host-a pid" in named.describe()
            assert await a.check()
            pid = a.backend_pid()
            assert pid is not None
            _terminate(pg, _name(db_urls.app), pid)
            for _ in range(50):  # PostgreSQL releases it as the session ends
                if await b.try_acquire():
                    break
                await asyncio.sleep(0.1)
            assert b.held
            assert not await a.check() and not a.held  # and the old holder finds out on its next check
            assert not await a.try_acquire()
        finally:
            await a.release()
            await b.release()
        with psycopg.connect(libpq_url(db_urls.app)) as conn:
            assert holder(conn) is None

    asyncio.run(scenario())


class Births:
    """Sparkplug NBIRTHs seen at the broker: one per MQTT publishing session that started."""

    def __init__(self, port: int, group: str) -> None:
        self.group, self.lock, self.topics = group, threading.Lock(), []
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}",
                                  protocol=paho.MQTTv5)
        self.client.username_pw_set(USER, PASSWORD)
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: (c.subscribe([(f"spBv1.0/{group}/#", 1)]), ready.set())
        self.client.on_message = lambda c, u, m: self._got(m.topic)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10), "subscriber did not connect"
        time.sleep(0.3)  # SUBACK

    def _got(self, topic: str) -> None:
        with self.lock:
            self.topics.append(topic)

    def count(self) -> int:
        with self.lock:
            return sum(1 for t in self.topics if "/NBIRTH/" in t)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@contextmanager
def _database(pg: EmbeddedPostgres) -> Iterator[DatabaseUrls]:
    from factoryos.db.engine import embedded_urls
    from factoryos.db.roles import init_database

    name = f"fo_duties_{uuid.uuid4().hex[:8]}"
    urls = embedded_urls(pg, name)
    init_database(urls.admin, name)
    migrate.upgrade(urls.owner)
    try:
        yield urls
    finally:
        engine = create_engine(pg.url("postgres", "postgres"), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.mark.slow
def test_two_hosts_one_database_one_publishing_session_and_a_takeover(pg: EmbeddedPostgres, settings: Settings,
                                                                        authenticator, tmp_path: Path) -> None:
    (tmp_path / "broker").mkdir()
    with _database(pg) as urls, running_broker(tmp_path / "broker") as broker:
        claims = {name: DutyClaim(DutyLock(urls.app, host=name, **FAST)) for name in ("host-a", "host-b")}
        servers = {}
        for name, claim in claims.items():  # own data directories, one database: two hosts
            own = settings.model_copy(update={"data_dir": tmp_path / name})
            app = create_app(own, urls.app, authenticator=authenticator, duties=claim)
            servers[name] = LiveServer(app, free_port()).start()
        states = {name: server_state(s.server.config.app) for name, s in servers.items()}

        def holders() -> list[str]:
            return [name for name, state in states.items() if state.primary]

        overlap: list[list[str]] = []
        watching = threading.Event()

        def watch() -> None:  # both at once, ever?
            while not watching.is_set():
                if len(now := holders()) > 1:
                    overlap.append(now)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        births = Births(broker.port, group := f"G{uuid.uuid4().hex[:6]}")
        try:
            first = _until(lambda: holders(), "a holder of the duties")[0]
            other = next(n for n in servers if n != first)
            with httpx.Client(base_url=servers[other].url, timeout=30) as http:  # any host serves the API
                owner = new_company(http, name="Co duties")
                site = plant.site(http, owner, timezone="UTC")
                plant.machine(http, owner, site["id"], cycle=30)
                r = http.put(URL, json={"url": broker.url, "username": USER, "password": PASSWORD, "mode": "sparkplug",
                                        "group_id": group, "interval_seconds": 1, "oee_seconds": 5},
                             headers=owner.headers)
                assert r.status_code == 200, r.text
            _until(lambda: births.count() >= 1, "the publishing session's birth")
            time.sleep(3)  # past both publishers' settings reload (0.5 s in tests): a second session would show by now
            assert births.count() == 1 and holders() == [first]

            # The holder's duty connection ends while its link is fine: it takes the lock again at once, or
            # the other does and starts after the takeover delay; either way one holder, never two.
            pid = claims[first].database.backend_pid()
            assert pid is not None
            _terminate(pg, _name(urls.app), pid)
            time.sleep(claims[first].database.takeover_delay + 3)
            assert len(holders()) == 1 and not overlap
            sessions = births.count()
            if holders() != [first]:  # the other won the race: from here on it is the one to cut off
                assert sessions == 2
                first, other = other, first

            # The holder is cut off from the database: its duty connection ends, reconnecting fails.
            lock = claims[first].database
            pid = lock.backend_pid()
            assert pid is not None
            lock.url = UNREACHABLE
            cut = time.monotonic()
            _terminate(pg, _name(urls.app), pid)
            _until(lambda: holders() == [other], "the other host taking over", timeout=20)
            took = time.monotonic() - cut
            bound = FAST["check_seconds"] + FAST["retry_seconds"] + claims[other].database.takeover_delay + 2.0
            assert took < bound, f"took over after {took:.1f} s (bound {bound:.1f} s)"
            _until(lambda: births.count() >= sessions + 1, "the new holder's publishing session")
            time.sleep(3)  # past the old holder's reload and retry: a session of its own would show by now
            assert births.count() == sessions + 1 and holders() == [other]  # the old holder stays down

            # Its link back, the first host waits; the other stops cleanly and hands the duties back.
            lock.url = libpq_url(urls.app)
            time.sleep(2)
            assert holders() == [other]
            servers.pop(other).stop()
            _until(lambda: states[first].primary, "the first host taking the duties back", timeout=20)
            _until(lambda: births.count() >= sessions + 2, "its publishing session")
            assert not overlap, f"two holders at once: {overlap[:3]}"
        finally:
            watching.set()
            births.stop()
            for server in servers.values():
                server.stop()
