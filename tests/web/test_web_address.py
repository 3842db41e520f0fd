"""`factoryos web` forwards each browser's own address, so sign-in throttling stays per person.

Every tab reaches the API from the web process's address. The web process names the browser
in X-Forwarded-For (read from nginx's header when nginx is a trusted proxy of the web process),
and the API, which trusts the web process, throttles and audits by that address: wrong
passwords typed in one browser lock that browser only. The tab is driven over textual-serve's
own websocket protocol (the keys a browser page sends), without a browser.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import httpx
import pytest
from sqlalchemy import text

from server.app import create_app
from server.auth import TokenAuthenticator
from tests.accounts import FAST, PASSWORD, new_company
from tests.conftest import LiveServer, duty_claim, free_port
from tests.web.test_browser import _web

pytestmark = pytest.mark.slow

BROWSER, OTHER_PC = "198.51.100.7", "198.51.100.20"


@pytest.fixture(scope="module")
def proxied(settings, db_urls):
    """The API trusting the web process's address (loopback here) as a proxy."""
    policy = FAST.model_copy(update={"lockout_threshold": 3, "lockout_address_threshold": 8})
    app = create_app(settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]}), db_urls.app,
                     authenticator=TokenAuthenticator.from_settings(settings, policy), duties=duty_claim(db_urls.app))
    server = LiveServer(app, free_port()).start()
    yield server
    server.stop()


def _failures(engine, tenant_id: str, address: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from audit_log where tenant_id = :t and action = 'login_failed' "
                                 "and client_ip = :ip"), {"t": tenant_id, "ip": address}).scalar_one()


async def _settle(ws: aiohttp.ClientWebSocketResponse, quiet: float = 1.5, limit: float = 60) -> None:
    """Read the app's screen updates until it has been quiet for `quiet` seconds."""
    deadline = time.monotonic() + limit
    seen = False
    while time.monotonic() < deadline:
        try:
            await asyncio.wait_for(ws.receive(), quiet)
            seen = True
        except TimeoutError:
            if seen:
                return
    raise AssertionError("the browser session's app never settled")


async def _wait_for(predicate, ws, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        try:
            await asyncio.wait_for(ws.receive(), 0.3)
        except TimeoutError:
            pass


async def test_wrong_passwords_in_one_browser_lock_only_that_browser(proxied, superuser_engine, tmp_path):
    with httpx.Client(base_url=proxied.url, timeout=30) as http:
        owner = new_company(http)
    # The test stands in for nginx in front of the web process: its header names the browser.
    with _web(proxied.url, tmp_path, "--trusted-proxy", "127.0.0.1") as port:
        async with aiohttp.ClientSession() as session, session.ws_connect(
            f"ws://127.0.0.1:{port}/ws?width=80&height=24", headers={"X-Forwarded-For": BROWSER},
        ) as ws:
            await _settle(ws)

            async def send(keys: str) -> None:
                await ws.send_str(json.dumps(["stdin", keys]))
                await asyncio.sleep(0.5)

            await send(owner.email + "\r")  # the server is fixed: the focus starts at the email
            for attempt in range(1, 4):
                await send("not the password\r")
                await _wait_for(lambda n=attempt: _failures(superuser_engine, owner.tenant_id, BROWSER) >= n, ws)

    assert _failures(superuser_engine, owner.tenant_id, BROWSER) == 3
    assert _failures(superuser_engine, owner.tenant_id, "127.0.0.1") == 0  # never the web process's address
    with httpx.Client(base_url=proxied.url, timeout=30) as http:
        here = http.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                         headers={"X-Forwarded-For": BROWSER})
        elsewhere = http.post("/api/v1/auth/login", json={"email": owner.email, "password": PASSWORD},
                              headers={"X-Forwarded-For": OTHER_PC})
    assert (here.status_code, here.json()["code"]) == (429, "account_locked")
    assert elsewhere.status_code == 200  # the owner at another PC (or another browser) is not locked out
