"""Sign-in throttling that cannot be turned against users: per (email, address) and per address."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from server.app import create_app
from server.auth import TokenAuthenticator
from tests.accounts import FAST, PASSWORD, new_company, new_email
from tests.conftest import LiveServer, free_port

ATTACKER, OWNER_DESK, GUESSER = "198.51.100.7", "198.51.100.20", "198.51.100.66"


@pytest.fixture(scope="module")
def proxied(settings, db_urls):
    """The server behind a trusted proxy (as nginx in the install), so each request names its client."""
    policy = FAST.model_copy(update={"lockout_threshold": 3, "lockout_address_threshold": 8})
    app = create_app(settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]}), db_urls.app,
                     authenticator=TokenAuthenticator.from_settings(settings, policy))
    server = LiveServer(app, free_port()).start()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
    server.stop()


def _login(http: httpx.Client, email: str, password: str, address: str) -> httpx.Response:
    return http.post("/api/v1/auth/login", json={"email": email, "password": password},
                     headers={"X-Forwarded-For": address})


def _audited_failures(engine, tenant_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("select count(*) from audit_log where tenant_id = :t and action = 'login_failed'"),
                            {"t": tenant_id}).scalar_one()


def test_an_attacker_cannot_lock_the_owner_out_from_another_address(proxied, superuser_engine) -> None:
    owner = new_company(proxied)
    for _ in range(3):
        _login(proxied, owner.email, "wrong guess here", ATTACKER)
    assert _login(proxied, owner.email, PASSWORD, ATTACKER).json()["code"] == "account_locked"
    # The owner, at their own desk, signs in as usual.
    assert _login(proxied, owner.email, PASSWORD, OWNER_DESK).status_code == 200
    # Further attempts on the locked pair are counted, not audited one by one.
    audited = _audited_failures(superuser_engine, owner.tenant_id)
    for _ in range(20):
        assert _login(proxied, owner.email, "wrong guess here", ATTACKER).status_code == 429
    assert _audited_failures(superuser_engine, owner.tenant_id) == audited == 3
    with superuser_engine.connect() as conn:
        counted = conn.execute(text("select max(failures) from login_throttle where locked_until > now()")).scalar()
    assert counted >= 3 + 21


def test_one_address_guessing_across_many_accounts_is_stopped(proxied) -> None:
    codes = [_login(proxied, new_email("spray"), "Summer2026!!", GUESSER).json()["code"] for _ in range(8)]
    assert codes[-1] == "account_locked" and set(codes[:-1]) == {"invalid_credentials"}
    victim = new_company(proxied)
    r = _login(proxied, victim.email, PASSWORD, GUESSER)
    assert (r.status_code, r.json()["code"]) == (429, "account_locked")  # the address, not the account
    assert _login(proxied, victim.email, PASSWORD, OWNER_DESK).status_code == 200


def test_probing_registration_for_taken_emails_is_throttled(proxied) -> None:
    taken = [new_company(proxied).email for _ in range(2)]
    prober = "198.51.100.91"
    codes = []
    for i in range(9):
        r = proxied.post("/api/v1/auth/register", json={"email": taken[i % 2], "password": PASSWORD},
                         headers={"X-Forwarded-For": prober})
        codes.append(r.json()["code"])
    assert codes[:7] == ["email_taken"] * 7 and codes[-1] == "account_locked"
    # Someone else registering from their own address is not affected.
    r = proxied.post("/api/v1/auth/register", json={"email": new_email("fresh"), "password": PASSWORD},
                     headers={"X-Forwarded-For": OWNER_DESK})
    assert r.status_code == 201
