"""Helpers for the LDAP sign-in tests: a company with a provider on the test slapd."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.accounts import Session, new_company
from tests.sso.slapd import PASSWORDS, SERVICE_PW, People, Slapd, add_people, ldap_config

RULES = [
    {"group": "supervisors-{tag}", "role": "supervisor"},
    {"group": "operators-{tag}", "role": "operator", "granted": ["reports.export"]},
]


@dataclass
class Plant:
    owner: Session
    people: People
    provider: dict[str, Any]


def provider_body(slapd: Slapd, people: People, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "ldap", "name": f"Plant AD {people.tag}", "email_domains": [people.domain],
        "config": ldap_config(slapd), "secret": SERVICE_PW,
        "rules": [{**r, "group": r["group"].format(tag=people.tag)} for r in RULES],
    }
    body.update(over)
    return body


def plant_with_directory(http: httpx.Client, slapd: Slapd, **over: Any) -> Plant:
    """A company whose owner has an email of the directory's domain (the break-glass owner)."""
    tag = uuid.uuid4().hex[:8]
    people = add_people(slapd, tag)
    owner = new_company(http, email=f"owner-{tag}@{people.domain}")
    r = http.post("/api/v1/sso/providers", json=provider_body(slapd, people, **over), headers=owner.headers)
    assert r.status_code == 201, r.text
    return Plant(owner, people, r.json())


def sign_in(http: httpx.Client, email: str, password: str | None = None) -> httpx.Response:
    who = email.split("-")[0]
    return http.post("/api/v1/auth/login", json={"email": email, "password": password or PASSWORDS[who]})


def scim_headers(http: httpx.Client, plant: Plant) -> dict[str, str]:
    """The SCIM client's headers with a token issued by the plant's owner for its directory."""
    r = http.post("/api/v1/sso/scim/token", json={"provider_id": plant.provider["id"]}, headers=plant.owner.headers)
    assert r.status_code in (200, 201), r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def audit_rows(http: httpx.Client, who: Session, **params: Any) -> list[dict[str, Any]]:
    """The company's audit rows over the API, but those its own reading of the audit adds."""
    r = http.get("/api/v1/audit", params={"limit": 500, **params}, headers=who.headers)
    assert r.status_code == 200, r.text
    return [row for row in r.json()["items"] if row["entity_type"] != "audit_log"]
