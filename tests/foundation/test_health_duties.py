"""Health says whether a server process holds the installation's duties (polling, backups, webhooks):
read from the advisory lock in PostgreSQL, so it tells the truth whichever process or host holds it."""

from __future__ import annotations

import asyncio

import httpx

from factoryos.db.embedded import EmbeddedPostgres
from factoryos.db.engine import DatabaseUrls
from factoryos.duties import DutyLock
from server.app import create_app
from server.duties import DutyClaim
from tests.conftest import LiveServer, free_port
from tests.integrations.own_database import own_database


def test_health_names_when_the_duties_were_taken_and_says_when_nobody_holds_them(settings, pg: EmbeddedPostgres) -> None:
    # A database of its own: on the session database the session server holds the duties.
    with own_database(pg) as own:
        _health_names_the_holder(settings, own.urls)


def _health_names_the_holder(settings, db_urls: DatabaseUrls) -> None:
    async def take() -> DutyLock:
        lock = DutyLock(db_urls.app, host="other-host", check_seconds=0.5, check_timeout=1.0, retry_seconds=0.5)
        assert await lock.try_acquire()
        return lock

    loop = asyncio.new_event_loop()
    # Another "host" holds the lock first; this server tries again only after a minute, so once the other
    # lets go, nobody holds it for the rest of the test.
    elsewhere = loop.run_until_complete(take())
    claim = DutyClaim(DutyLock(db_urls.app, retry_seconds=60), None)
    server = LiveServer(create_app(settings, db_urls.app, duties=claim), free_port()).start()
    try:
        held = httpx.get(server.url + "/api/v1/system/health").json()["duties"]
        assert held["ok"] is True
        assert held["since"] is not None and held["since"].startswith(f"{elsewhere.held_since:%Y-%m-%dT%H:%M:%S}")
        loop.run_until_complete(elsewhere.release())
        # Nobody runs the duties now: health says so.
        gap = httpx.get(server.url + "/api/v1/system/health").json()["duties"]
        assert gap == {"ok": False, "since": None}
    finally:
        server.stop()
        loop.close()
