"""`GET /system/health` answers in time whatever the database does: here a PostgreSQL whose
processes are all frozen (SIGSTOP), which accepts connections in the kernel and then never
answers, enforcing none of its own timeouts.

Its own embedded PostgreSQL and server: freezing the shared one would stall every other test.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from factoryos.config import Settings
from factoryos.db import migrate
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import embedded_urls
from factoryos.db.roles import init_database
from server.app import create_app
from server.auth import TokenAuthenticator
from tests.accounts import FAST, new_company
from tests.conftest import LiveServer, free_port

HEALTH = "/api/v1/system/health"
IN_TIME = httpx.Timeout(2.0)  # the promise: an answer within 2 s

pytestmark = pytest.mark.slow  # its own PostgreSQL, frozen and thawed


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@contextmanager
def frozen(pg: EmbeddedPostgres) -> Iterator[list[int]]:
    """SIGSTOP the postmaster, then every backend and helper it forked; SIGCONT all on the way out."""
    postmaster = int((pg.pgdata / "postmaster.pid").read_text().split()[0])
    stopped: list[int] = []
    try:
        os.kill(postmaster, signal.SIGSTOP)  # first, so it forks nothing new meanwhile
        stopped.append(postmaster)
        for pid in _children(postmaster):
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield stopped
    finally:
        for pid in reversed(stopped):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


@pytest.fixture()
def own_server(pg_tmp: Path, tmp_path: Path) -> Iterator[tuple[EmbeddedPostgres, LiveServer]]:
    pg = EmbeddedPostgres(pg_tmp).start()
    try:
        urls = embedded_urls(pg, "factoryos_frozen")
        init_database(urls.admin, "factoryos_frozen")
        migrate.upgrade(urls.owner)
        settings = Settings(data_dir=tmp_path / "data", secret_key="frozen-test-secret-" + "x" * 32)
        app = create_app(settings, urls.app, authenticator=TokenAuthenticator.from_settings(settings, FAST))
        server = LiveServer(app, free_port()).start()
        try:
            yield pg, server
        finally:
            server.stop()
    finally:
        pg.stop()


def test_health_answers_503_in_time_while_the_database_is_frozen(own_server) -> None:
    pg, server = own_server
    with httpx.Client(base_url=server.url, timeout=IN_TIME) as client:
        assert client.get(HEALTH).status_code == 200
        with httpx.Client(base_url=server.url, timeout=30) as slow:
            owner = new_company(slow)
            assert slow.get("/api/v1/sites", headers=owner.headers).status_code == 200

        hung: list[httpx.Response | Exception] = []

        def request_the_frozen_database() -> None:
            with httpx.Client(base_url=server.url, timeout=120) as c:
                try:
                    hung.append(c.get("/api/v1/sites", headers=owner.headers))
                except Exception as exc:  # recorded, asserted below
                    hung.append(exc)

        waiting = [threading.Thread(target=request_the_frozen_database) for _ in range(12)]
        with frozen(pg) as stopped:
            assert len(stopped) > 1, "the postmaster and its helpers are stopped"
            # More requests than the server runs at once, all stuck on the database …
            for t in waiting:
                t.start()
            time.sleep(0.5)
            # … and health still answers, each time within 2 s (or httpx raises).
            answers = [client.get(HEALTH) for _ in range(3)]
            assert not hung, "the frozen database answered"
            for r in answers:
                assert r.status_code == 503
                assert r.headers["content-type"] == "application/problem+json"
                assert r.headers["retry-after"]
                body = r.json()
                assert (body["code"], body["status"]) == ("database_unavailable", 503)
                assert body["database"]["ok"] is False and body["detail"].startswith("the database ")
                assert body["version"] and body["disk"]["ok"] is not None  # the other parts still inform
            # A check left hanging is shared by the later calls, not joined by more stuck threads.
            assert sum(t.name == "database probe" for t in threading.enumerate()) <= 1

        for t in waiting:
            t.join(60)
        assert [getattr(r, "status_code", r) for r in hung] == [200] * len(waiting)  # they resume, unharmed
        deadline = time.monotonic() + 30
        while (r := client.get(HEALTH)).status_code != 200:
            assert time.monotonic() < deadline, f"health did not recover: {r.text}"
            time.sleep(0.2)
        assert r.json()["status"] == "ok" and r.json()["database"]["ok"] is True
