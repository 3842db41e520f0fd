"""Sign-up and sign-in helpers over the real API, the one set every test folder uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from factoryos.identity.policy import IdentityPolicy

# Cheap hashing keeps the suite fast; production defaults are asserted in tests/identity.
# The whole suite registers from one address: its registration allowance is wide open here and
# asserted at its default in tests/identity/test_throttle_by_address.py.
FAST = IdentityPolicy(argon2_time_cost=1, argon2_memory_kib=64, argon2_parallelism=1,
                      registration_address_threshold=100_000)
PASSWORD = "correct horse battery"


def new_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Session:
    """A signed-in member of one company."""

    email: str
    user_id: str
    tenant_id: str
    access_token: str
    refresh_token: str
    role: str
    password: str = PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


def session_of(body: dict[str, Any], email: str, password: str = PASSWORD) -> Session:
    return Session(
        email=email,
        user_id=body["account"]["id"],
        tenant_id=body["company"]["id"],
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        role=body["company"]["role"],
        password=password,
    )


def register(http: httpx.Client, email: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
    """Register, then sign in as a client does (registration itself answers only "accepted")."""
    email = email or new_email()
    r = http.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 202, r.text
    r = login(http, email, password)
    assert r.status_code == 200, r.text
    return r.json()


def owner_body(**over: Any) -> dict[str, Any]:
    body = {
        "display_name": "Olga Owner",
        "company_name": f"Acme {uuid.uuid4().hex[:6]}",
        "industry": "Metalworking",
        "company_size": "11-50",
        "city": "Linz",
        "default_currency": "EUR",
        "timezone": "Europe/Berlin",
    }
    body.update(over)
    return body


def new_company(
    http: httpx.Client, timezone: str | None = "Europe/Berlin", *, email: str | None = None,
    name: str | None = None, **over: Any,
) -> Session:
    """Register an account and create its company (it becomes the owner), signed in. `over`
    replaces fields of the setup body; snapshot tests pass a fixed `email` and `name` (the
    company's), which appear on screen."""
    email = email or new_email("owner")
    account = register(http, email)
    body = owner_body(timezone=timezone, **over) | ({"company_name": name} if name else {})
    r = http.post("/api/v1/setup/owner", json=body, headers=bearer(account["access_token"]))
    assert r.status_code == 201, r.text
    return session_of(r.json(), email)


def invite(http: httpx.Client, by: Session, role: str) -> dict[str, Any]:
    r = http.post("/api/v1/invites", json={"role": role}, headers=by.headers)
    assert r.status_code == 201, r.text
    return r.json()


def accept(http: httpx.Client, code: str, email: str | None = None, **over: Any) -> httpx.Response:
    body = {"code": code, "email": email or new_email("staff"), "password": PASSWORD, "display_name": "Sam Staff"}
    body.update(over)
    return http.post("/api/v1/invites/accept", json=body)


def join(http: httpx.Client, owner: Session, role: str = "operator", email: str | None = None) -> Session:
    """Invite a member with `role` and accept the invite as a new account, signed in."""
    email = email or new_email(role)
    r = accept(http, invite(http, owner, role)["code"], email)
    assert r.status_code == 201, r.text
    return session_of(r.json(), email)


def login(http: httpx.Client, email: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
    return http.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def make_installation_admin(engine: Any, email: str) -> None:
    """What `factoryos user installation-admin --email` does on the server host, for an
    account a test made over the API (`engine`: the app role's, as the host command uses)."""
    from factoryos.identity.admin import set_installation_admin

    with engine.begin() as conn:
        set_installation_admin(conn, email=email, on=True)
