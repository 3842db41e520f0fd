"""The fence of a paired (Compose) primary, without Docker: on two real clusters of this host, the watch
asks the standby over its replication role alone whether it was promoted, sees the promotion while the
primary serves, keeps the verdict in a marker (the standby away); and the real app with that marker
answers health and every write with 503 `standby_superseded`, writes nothing, and still serves reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import make_url, text

from factoryos.backup.standby import (
    FENCE_FILE,
    REPLICATION_ROLE,
    PeerLink,
    clone,
    create_replication_role,
    database_identity,
    peer_state,
    promote,
)  # fmt: skip
from factoryos.backup.standby_fence import PEER_FILE, PeerFile, SupersededWatch, fence_dir
from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from tests.accounts import new_company
from tests.backup.support import primary_and_standby
from tests.conftest import LiveServer, duty_claim, free_port, pg_data_dir

PASSWORD = "the-replication-roles-own"



@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_watch_sees_the_standby_promoted_and_remembers_it() -> None:
    with pg_data_dir() as root, primary_and_standby(root, PASSWORD, "create table fence_probe (n int primary key)"
                                                    ) as (primary, standby):
        p_url = primary.url()
        assert standby.socket_dir is not None
        link = PeerLink(standby.socket_dir, 5432, PASSWORD, None)

        seen = peer_state(link)  # the replication role may ask this much, and nothing else
        assert seen.in_recovery and seen.timeline == 1 and seen.identity == database_identity(p_url)
        with psycopg.connect(link.conninfo(), password=PASSWORD, dbname="postgres") as conn, \
                pytest.raises(psycopg.errors.InsufficientPrivilege):  # fmt: skip
            conn.execute("select count(*) from fence_probe")

        folder = fence_dir(root / "a-data")
        PeerFile(standby.socket_dir, 5432, PASSWORD, "").write(folder)
        assert (folder / PEER_FILE).stat().st_mode & 0o777 == 0o600
        fenced = threading.Event()
        watch = SupersededWatch.of(root / "a-data", p_url, interval=0.2, on_fenced=lambda reason: fenced.set())
        assert watch is not None and SupersededWatch.of(root / "elsewhere", p_url) is None
        assert watch.check() is None  # its standby still follows: serve
        watch.start()
        try:
            assert not fenced.wait(1.0)
            promote(standby.url())
            assert fenced.wait(15), "the promotion was not seen"
        finally:
            watch.stop()
        assert watch.reason is not None and "timeline 2" in watch.reason
        assert "must not run as a second primary" in watch.reason
        marker = folder / FENCE_FILE
        assert marker.stat().st_mode & 0o777 == 0o600

        standby.stop()
        again = SupersededWatch.of(root / "a-data", p_url)
        assert again is not None and again.check() is not None  # the standby away: the marker says
        (folder / PEER_FILE).unlink()
        assert SupersededWatch.of(root / "a-data", p_url) is not None  # the marker alone keeps the watch


def test_a_superseded_api_refuses_writes_and_says_why(tmp_path: Path, settings: Settings, db_urls, authenticator,
                                                      http: httpx.Client, superuser_engine, session_duties
                                                      ) -> None:  # fmt: skip
    owner = new_company(http)
    # The fenced server alone on the database, as after a promotion: the session server stands aside.
    with session_duties.handed_over():
        _superseded_api(tmp_path, settings, db_urls, authenticator, superuser_engine, owner, http)


def _superseded_api(tmp_path: Path, settings: Settings, db_urls, authenticator, superuser_engine, owner,
                    http: httpx.Client) -> None:
    from server.app import create_app

    folder = fence_dir(tmp_path)
    folder.mkdir()
    (folder / FENCE_FILE).write_text("the standby became primary on timeline 2, seen 2026-12-04 10:00 UTC\n")
    fenced_settings = settings.model_copy(update={"data_dir": tmp_path, "admin_database_url": db_urls.admin})
    server = LiveServer(create_app(fenced_settings, db_urls.app, authenticator=authenticator,
                                   duties=duty_claim(db_urls.app)), free_port()).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            health = client.get("/api/v1/system/health")
            assert health.status_code == 503 and health.headers["content-type"] == "application/problem+json"
            body = health.json()
            assert body["code"] == "standby_superseded" and "superseded by its promoted standby" in body["detail"]
            assert "timeline 2" in body["detail"] and body["database"]["ok"] is True  # the usual parts
            assert body["duties"]["ok"] is False  # nothing polled, backed up or delivered from here

            number = f"F-{uuid.uuid4().hex[:8]}"
            refused = client.post("/api/v1/products", json={"number": number, "name": "Fenced"},
                                  headers=owner.headers)  # fmt: skip
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "standby_superseded"
            signed_in = client.post("/api/v1/auth/login", json={"email": owner.email, "password": owner.password})
            assert signed_in.status_code == 503 and signed_in.json()["code"] == "standby_superseded"
            assert client.get("/api/v1/products", headers=owner.headers).status_code == 200  # reads served
        with superuser_engine.connect() as conn:
            assert conn.execute(text("select count(*) from products where number = :n"), {"n": number}).scalar() == 0
        # The same write on a server that is not superseded: taken (the refusal above is the fence's).
        assert http.post("/api/v1/products", json={"number": number, "name": "Taken"},
                         headers=owner.headers).status_code == 201  # fmt: skip
    finally:
        server.stop()


def _start_serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "FACTORYOS_DATA_DIR": str(data_dir), "FACTORYOS_HOST": "127.0.0.1",
           "FACTORYOS_PORT": str(port), "NO_COLOR": "1", "COLUMNS": "300"}  # fmt: skip
    for name in ("FACTORYOS_DATABASE_URL", "FACTORYOS_ADMIN_DATABASE_URL", "FACTORYOS_OWNER_DATABASE_URL"):
        env.pop(name, None)
    return subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _health(port: int, process: subprocess.Popen[str], seconds: float = 120) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/system/health", timeout=5)
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.3)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_serving_primary_stops_when_its_standby_is_promoted_and_comes_back_refusing() -> None:
    """`factoryos serve` on the embedded database with a peer file: the promotion seen while it serves,
    it stops (its duties with it) for its supervisor to start it again; started again, it refuses writes."""
    with pg_data_dir() as root:
        cluster = EmbeddedPostgres(root / "a").start()
        try:
            create_replication_role(cluster.url(), PASSWORD)
            clone(make_url(cluster.url()).set(username=REPLICATION_ROLE, password=PASSWORD).render_as_string(
                hide_password=False), root / "b" / "pg")  # fmt: skip
        finally:
            cluster.stop()
        standby = EmbeddedPostgres(root / "b").start()
        server: subprocess.Popen[str] | None = None
        try:
            assert standby.socket_dir is not None
            PeerFile(standby.socket_dir, 5432, PASSWORD, "").write(fence_dir(root / "a"))
            port = free_port()
            server = _start_serve(root / "a", port)
            assert _health(port, server).status_code == 200  # its standby follows: it serves

            promote(standby.url())
            try:
                code = server.wait(90)  # within a check interval (15 s) and a graceful stop
            except subprocess.TimeoutExpired:
                pytest.fail("the server kept serving as a second primary")
            output = server.communicate()[0]
            assert code == 0 and "stopping to start again as a superseded primary" in output, output
            assert (fence_dir(root / "a") / FENCE_FILE).is_file()

            standby.stop()  # away: the marker alone
            server = _start_serve(root / "a", port)
            health = _health(port, server)
            assert health.status_code == 503 and health.json()["code"] == "standby_superseded", health.text
            write = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/register",
                               json={"email": "late@example.com", "password": "correct horse battery"}, timeout=10)  # fmt: skip
            assert write.status_code == 503 and write.json()["code"] == "standby_superseded", write.text
        finally:
            if server is not None:
                _stop(server)
            if standby.running:
                standby.stop()
