"""Sign-in throttling that cannot be turned against users: per (email, address) and per address."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from factoryos.identity.policy import IdentityPolicy
from server.app import create_app
from server.auth import TokenAuthenticator
from tests.accounts import FAST, PASSWORD, new_company, new_email
from tests.conftest import LiveServer, duty_claim, free_port

REGISTRATIONS = IdentityPolicy().registration_address_threshold  # the shipped default
ATTACKER, OWNER_DESK, GUESSER = "198.51.100.7", "198.51.100.20", "198.51.100.66"


@pytest.fixture(scope="module")
def proxied(settings, db_urls):
    """The server behind a trusted proxy (as nginx in the install), so each request names its client."""
    policy = FAST.model_copy(update={"lockout_threshold": 3, "lockout_address_threshold": 8,
                                     "registration_address_threshold": REGISTRATIONS})
    app = create_app(settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]}), db_urls.app,
                     authenticator=TokenAuthenticator.from_settings(settings, policy), duties=duty_claim(db_urls.app))
    server = LiveServer(app, free_port()).start()
    # Requests that name no client come from this module's own address, not the suite's loopback
    # (the throttle rows live in the shared database).
    with httpx.Client(base_url=server.url, timeout=30, headers={"X-Forwarded-For": "198.51.100.1"}) as client:
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


def test_registrations_from_one_address_are_limited_alike_for_new_and_taken_emails(proxied) -> None:
    taken = new_company(proxied).email
    prober = "198.51.100.91"
    answers = []
    for i in range(REGISTRATIONS + 1):
        email = taken if i % 2 else new_email("probe")  # the count is the same whichever they are
        r = proxied.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD},
                         headers={"X-Forwarded-For": prober})
        answers.append((r.status_code, r.json().get("code", r.json().get("status"))))
    assert answers[:REGISTRATIONS - 1] == [(202, "accepted")] * (REGISTRATIONS - 1)
    assert answers[-1] == (429, "rate_limited")
    # Someone else registering from their own address is not affected.
    r = proxied.post("/api/v1/auth/register", json={"email": new_email("fresh"), "password": PASSWORD},
                     headers={"X-Forwarded-For": OWNER_DESK})
    assert r.status_code == 202
