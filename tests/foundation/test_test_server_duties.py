"""The test servers on a worker's database hold its duties as production servers do: the session
server by the duty lock, a second server started by a test with a claim on the same database runs
none while the session server holds them, takes them when the session server stands aside, and the
two never hold them at once."""

from __future__ import annotations

import threading
import time

import httpx
import psycopg

from factoryos.db.engine import DatabaseUrls
from factoryos.db.roles import libpq_url
from factoryos.duties import holder
from server.app import create_app
from server.state import server_state
from tests.conftest import LiveServer, SessionDuties, duty_claim, free_port
from tests.waiting import until


def _holder_host(db_urls: DatabaseUrls) -> str | None:
    with psycopg.connect(libpq_url(db_urls.app)) as conn:
        named = holder(conn)
    return named.host if named is not None else None


def test_one_duty_holder_on_the_session_database_decided_by_the_lock(live_server: LiveServer,
                                                                    session_duties: SessionDuties, settings,
                                                                    db_urls: DatabaseUrls, authenticator) -> None:
    # The session server holds the duties by the lock in PostgreSQL, and health says so.
    assert _holder_host(db_urls) == "test-session" and session_duties.held()
    duties = httpx.get(live_server.url + "/api/v1/system/health").json()["duties"]
    assert duties["ok"] is True and duties["since"] is not None

    claim = duty_claim(db_urls.app, host="test-second")
    second = LiveServer(create_app(settings, db_urls.app, authenticator=authenticator, duties=claim), free_port())
    states = {"session": session_duties.state, "second": server_state(second.server.config.app)}
    overlap: list[list[str]] = []
    watching = threading.Event()

    def holders() -> list[str]:
        return [name for name, state in states.items() if state.primary]

    def watch() -> None:  # both at once, ever?
        while not watching.is_set():
            if len(now := holders()) > 1:
                overlap.append(now)
            time.sleep(0.01)

    second.start()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        # Long past a takeover: had the second server taken the lock, it would run the duties by now.
        time.sleep(claim.database.takeover_delay + 1)
        assert holders() == ["session"] and _holder_host(db_urls) == "test-session"

        with session_duties.handed_over():
            until(lambda: holders() == ["second"], "the second server holding the duties")
            assert _holder_host(db_urls) == "test-second"
            second.stop()
            assert not states["second"].primary
        assert holders() == ["session"] and _holder_host(db_urls) == "test-session"
    finally:
        watching.set()
        watcher.join(timeout=5)
        second.stop()
    assert overlap == []
