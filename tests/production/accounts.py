"""Companies and members made through the public API, returning bearer headers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Account:
    email: str
    user_id: str
    tenant_id: str
    headers: dict[str, str]


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def _account(body: dict, email: str) -> Account:
    return Account(email, body["account"]["id"], body["company"]["id"],
                   {"Authorization": f"Bearer {body['access_token']}"})


def new_company(
    http: httpx.Client, timezone: str = "Europe/Berlin", *, email: str | None = None, name: str | None = None
) -> Account:
    """Register an account, create its company (it becomes the owner) and sign in. Snapshot
    tests pass a fixed `email` and `name`: they appear on screen."""
    email = email or _email("owner")
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    token = r.json()["access_token"]
    body = {"display_name": "Olga Owner", "company_name": name or f"Works {uuid.uuid4().hex[:6]}",
            "industry": "Metalworking", "company_size": "11-50", "city": "Linz", "default_currency": "EUR",
            "timezone": timezone}
    r = http.post("/api/v1/setup/owner", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201, r.text
    return _account(r.json(), email)


def add_member(http: httpx.Client, owner: Account, role: str = "operator") -> Account:
    """Invite a member with `role` and accept the invite as a new account."""
    r = http.post("/api/v1/invites", json={"role": role}, headers=owner.headers)
    assert r.status_code == 201, r.text
    email = _email(role)
    r = http.post("/api/v1/invites/accept",
                  json={"code": r.json()["code"], "email": email, "password": PASSWORD, "display_name": "Sam Staff"})
    assert r.status_code == 201, r.text
    return _account(r.json(), email)
