"""Session fixtures: one real embedded PostgreSQL, migrated to head, and the real app over HTTP.

Under pytest-xdist (scripts/test.sh runs one worker process more than the cores) every worker is a session of its
own: its own cluster in its own temp dir (a Unix socket there, no TCP port), its own app server
on a free port, its own basetemp. Nothing below is shared between workers, so a test sees the
same world whether it runs serially or in a worker.

The session server holds the duties (webhook deliveries, MQTT publishing, due maintenance orders,
the backup schedule) of its worker's database as a production server does: through the duty lock
in PostgreSQL (`factoryos.duties`). A server a test starts on that database takes a claim too
(`duty_claim`) and so runs no duty while the session server holds them; a test whose own server
must run them has the session server stand aside first (`session_duties.handed_over()`).
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, create_engine, pool

from factoryos.config import Settings
from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls, embedded_urls, make_engine
from factoryos.db.roles import init_database
from factoryos.duties import DutyLock
from tests.cluster_template import remove_later, start_migrated
from tests.waiting import until

if TYPE_CHECKING:
    from server.duties import DutyClaim

TEST_DB = "factoryos_test"

# Every test signs in from 127.0.0.1, hundreds of failures in a run: the per-address lock (one
# address guessing across many accounts) would end the suite, so its own tests lower it again.
os.environ.setdefault("FACTORYOS_LOCKOUT_ADDRESS_THRESHOLD", "10000")


# Session fixtures that start something costly of their own (a second cluster migrated to head,
# slapd, the Node OpenID Provider): the files that use one go to the same worker, so it starts
# once per run instead of once per worker.
COSTLY_SESSION_FIXTURES = ("island", "slapd", "oidc_op")


SLOW_LIST = Path(__file__).parent / "slow_tests.txt"


# The cyclic garbage collector's thresholds for a test process. It holds every module of the code
# base, the tests and their servers: hundreds of thousands of long-lived objects that CPython's
# default thresholds (700, 10, 10) walk in a full collection every few seconds (measured over TUI
# test files: 13 % of the process's CPU in collections; 8 % with these and the freeze below).
GC_THRESHOLDS = (20_000, 20, 20)


def pytest_configure(config: pytest.Config) -> None:
    from tests.tui.pilot import wait_for_the_app_only

    wait_for_the_app_only()  # Pilot waits for the app's thread, not the in-process test server
    gc.set_threshold(*GC_THRESHOLDS)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """What exists once the tests are collected (modules, test items) lives as long as the process:
    frozen, a full collection no longer walks it."""
    gc.collect()
    gc.freeze()


def mark_listed_slow(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `slow` the tests tests/slow_tests.txt names (a node ID, or one parameter of it), so
    the fast suite's selection lives in one list instead of in other areas' files."""
    listed = [line.strip() for line in SLOW_LIST.read_text().splitlines()
              if line.strip() and not line.startswith("#")]  # fmt: skip
    used: set[str] = set()
    for item in items:
        nodeid = item.nodeid  # before xdist appends "@group" (its hook runs after this one)
        bare = nodeid.split("[", 1)[0]
        entry = nodeid if nodeid in listed else bare if bare in listed else None
        if entry is not None:
            item.add_marker(pytest.mark.slow)
            used.add(entry)
    if any("::" in arg for arg in config.args):
        return  # a run of chosen tests: the other entries of a file are not collected, not stale
    files = {item.nodeid.split("::", 1)[0] for item in items}
    stale = [entry for entry in listed if entry not in used and entry.split("::", 1)[0] in files]
    if stale:
        raise pytest.UsageError(f"{SLOW_LIST.name} names tests that do not exist: {', '.join(stale)}")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (`--dist loadgroup`) and `-m` selects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the listed slow tests; then hand tests out a file at a time: a module's own fixtures
    start once and its tests keep their order. A file that needs a costly session fixture joins
    that fixture's group."""
    mark_listed_slow(config, items)
    if not getattr(config.option, "loadgroup", False):  # set in xdist's workers under --dist loadgroup
        return
    by_file: dict[Path, list[pytest.Item]] = {}
    for item in items:
        by_file.setdefault(item.path, []).append(item)
    for path, file_items in by_file.items():
        needs = {name for item in file_items for name in getattr(item, "fixturenames", ())}
        group = next((name for name in COSTLY_SESSION_FIXTURES if name in needs), None)
        relative = path.relative_to(config.rootpath).as_posix()
        if relative.startswith("tests/installer/"):
            group = "installer"  # one worker: the Docker stack, nginx and TLS reloads are one per host
        mark = pytest.mark.xdist_group(group or relative)
        for item in file_items:
            item.add_marker(mark)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def pg_data_dir() -> Iterator[Path]:
    """A data dir outside pytest's basetemp: pytest resets that tree to mode 0700 on every
    run, which would lock out the unprivileged user PostgreSQL runs as under root."""
    path = Path(tempfile.mkdtemp(prefix="factoryos-test-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture()
def pg_tmp() -> Iterator[Path]:
    with pg_data_dir() as path:
        yield path


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    """The session cluster, with TEST_DB prepared as `serve` prepares it (tests/cluster_template.py)."""
    path = Path(tempfile.mkdtemp(prefix="factoryos-test-"))
    try:
        server = start_migrated(path, TEST_DB)
        yield server
        server.stop()
    finally:
        remove_later(path)


@pytest.fixture(scope="session")
def db_urls(pg: EmbeddedPostgres) -> DatabaseUrls:
    return embedded_urls(pg, TEST_DB)


@pytest.fixture(scope="session")
def superuser_engine(pg: EmbeddedPostgres, db_urls: DatabaseUrls) -> Iterator[Engine]:
    """Bypasses RLS: for seeding and for looking behind the app's back. Never for the app."""
    engine = create_engine(pg.url("postgres", TEST_DB), poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app_engine(db_urls: DatabaseUrls) -> Iterator[Engine]:
    engine = make_engine(db_urls.app, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # MQTT publishing picks up a company's broker settings within half a second, not five: the
    # publishing tests wait for it after every change.
    return Settings(data_dir=tmp_path_factory.mktemp("data"), secret_key="test-secret-key-" + "x" * 32,
                    mqtt_publish_reload_seconds=0.5)


class LiveServer:
    """The real ASGI app under uvicorn on a loopback port, in a background thread."""

    def __init__(self, app, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.duties: SessionDuties | None = None  # the session server's only

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def authenticator(settings: Settings):
    from server.auth import TokenAuthenticator
    from tests.accounts import FAST

    return TokenAuthenticator.from_settings(settings, FAST)


# The duty lock's pace in tests: a takeover starts the duties 3.5 s after the lock is taken.
DUTY_TIMINGS = {"check_seconds": 0.5, "check_timeout": 1.0, "retry_seconds": 0.5}


class StandAsideLock(DutyLock):
    """The real duty lock, which a test can have released and left alone for a while (`aside`):
    its holder steps down at its next check as if it had lost the lock, and competes again once
    `aside` is cleared."""

    def __init__(self, database_url: str, **kwargs) -> None:
        super().__init__(database_url, **kwargs)
        self.aside = threading.Event()  # set and cleared from the test's thread

    async def try_acquire(self) -> bool:
        return False if self.aside.is_set() else await super().try_acquire()

    async def check(self) -> bool:
        if self.aside.is_set():
            await self.release()
            return False
        return await super().check()


def duty_claim(database_url: str, host: str = "test-server") -> DutyClaim:
    """A claim on the duties of `database_url` for a server a test starts: the server runs them only
    while it holds the database's duty lock, as `factoryos serve` does."""
    from server.duties import DutyClaim

    return DutyClaim(DutyLock(database_url, host=host, **DUTY_TIMINGS))


class SessionDuties:
    """The session server's claim on the duties of the session database."""

    def __init__(self, server: LiveServer, lock: StandAsideLock) -> None:
        from server.state import server_state

        self.lock = lock
        self.state = server_state(server.server.config.app)

    def held(self) -> bool:
        return self.state.primary

    def wait_held(self) -> None:
        until(self.held, "the session server holding the duties", timeout=60)

    @contextmanager
    def handed_over(self) -> Iterator[None]:
        """The session server lets go of the duties for the block (a server the test starts with a
        `duty_claim` takes them), and holds them again after it; stop that server inside the block."""
        self.lock.aside.set()
        try:
            until(lambda: not self.held() and not self.lock.held, "the session server stepping down", timeout=30)
            yield
        finally:
            self.lock.aside.clear()
            self.wait_held()


@pytest.fixture(scope="session")
def live_server(settings: Settings, db_urls: DatabaseUrls, authenticator) -> Iterator[LiveServer]:
    """The session server: the one holder of the session database's duties, by the duty lock."""
    from server.app import create_app
    from server.duties import DutyClaim

    lock = StandAsideLock(db_urls.app, host="test-session", **DUTY_TIMINGS)
    app = create_app(settings, db_urls.app, authenticator=authenticator, duties=DutyClaim(lock))
    server = LiveServer(app, free_port()).start()
    server.duties = SessionDuties(server, lock)
    # Tests count on its webhook deliveries and publishing from their first request on.
    server.duties.wait_held()
    yield server
    server.stop()


@pytest.fixture()
def session_duties(live_server: LiveServer) -> SessionDuties:
    assert live_server.duties is not None
    return live_server.duties


@pytest.fixture()
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture()
def fresh_database(pg: EmbeddedPostgres) -> Iterator[DatabaseUrls]:
    """An empty database with the roles granted, for migration and health tests."""
    name = f"fo_{uuid.uuid4().hex[:10]}"
    urls = embedded_urls(pg, name)
    init_database(urls.admin, name)
    yield urls
    engine = create_engine(pg.url("postgres", "postgres"), poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def island():
    """An own embedded PostgreSQL for tests that restore backups (a restore replaces its
    database, which the session cluster's other users must never see)."""
    from tests.backup.support import DATABASE, Island

    with pg_data_dir() as path:
        pg = start_migrated(path, DATABASE, guarded=False)
        try:
            yield Island(pg, embedded_urls(pg, DATABASE))
        finally:
            pg.stop()


@pytest.fixture()
def vendor_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The tests' own license signing key; servers in this process trust it through
    FACTORYOS_LICENSE_PUBLIC_KEY (the shipped vendor key never signs test licenses)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from factoryos.licensing.keys import PUBLIC_KEY_ENV, public_pem

    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "vendor-public.pem"
    pem.write_bytes(public_pem(key))
    monkeypatch.setenv(PUBLIC_KEY_ENV, str(pem))
    monkeypatch.delenv("FACTORYOS_LICENSE_FILE", raising=False)
    return key
