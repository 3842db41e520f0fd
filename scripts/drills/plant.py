"""Seed a company's plant through the public API: site, round-the-clock shift, lines,
machines and one operator per terminal (each its own account, signed in)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "drill password 123"


class SeedError(RuntimeError):
    pass


def _ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    if r.status_code != status:
        raise SeedError(f"{r.request.method} {r.request.url.path} → {r.status_code}: {r.text[:300]}")
    return r.json()


@dataclass(frozen=True)
class Member:
    email: str
    user_id: str
    tenant_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def _member(body: dict[str, Any], email: str) -> Member:
    return Member(email, body["account"]["id"], body["company"]["id"], body["access_token"])


@dataclass(frozen=True)
class Terminal:
    """One operator at one machine (entries of one machine never overlap, so one terminal each)."""

    operator: Member
    machine_id: str
    line_id: str


@dataclass
class Plant:
    owner: Member
    site_id: str
    shift_id: str
    line_ids: list[str] = field(default_factory=list)
    machine_ids: list[str] = field(default_factory=list)
    terminals: list[Terminal] = field(default_factory=list)


def new_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def new_company(client: httpx.Client, name: str, *, display_name: str = "Olga Owner", city: str = "Linz") -> Member:
    email = new_email("owner")
    credentials = {"email": email, "password": PASSWORD}
    _ok(client.post("/api/v1/auth/register", json=credentials), 202)  # alike for any email: sign in next
    token = _ok(client.post("/api/v1/auth/login", json=credentials), 200)["access_token"]
    body = {"display_name": display_name, "company_name": name, "industry": "Metalworking",
            "company_size": "51-200", "city": city, "default_currency": "EUR", "timezone": "UTC"}
    return _member(_ok(client.post("/api/v1/setup/owner", json=body,
                                   headers={"Authorization": f"Bearer {token}"})), email)


def join(client: httpx.Client, owner: Member, role: str, display_name: str = "Sam Staff") -> Member:
    code = _ok(client.post("/api/v1/invites", json={"role": role}, headers=owner.headers))["code"]
    email = new_email(role)
    body = {"code": code, "email": email, "password": PASSWORD, "display_name": display_name}
    return _member(_ok(client.post("/api/v1/invites/accept", json=body)), email)


def seed_plant(client: httpx.Client, owner: Member, *, machines: int, per_line: int = 10, terminals: int = 0,
               label: str = "", cycle_seconds: str = "0.5") -> Plant:
    """A UTC site with a 24-hour shift, `machines` machines in lines of `per_line`, and
    `terminals` operators, the i-th at machine i. `label` goes into every name (leak markers)."""
    if terminals > machines:
        raise ValueError("one terminal per machine at most")
    h = owner.headers
    site = _ok(client.post("/api/v1/sites", json={"name": f"{label}Plant", "code": f"S-{uuid.uuid4().hex[:6]}",
                                                   "timezone": "UTC", "address": f"{label}Works road 1"}, headers=h))
    shift = _ok(client.post("/api/v1/shifts", json={"site_id": site["id"], "name": f"{label}Day and night",
                                                    "start": "00:00", "end": "00:00"}, headers=h))
    plant = Plant(owner, site["id"], shift["id"])
    for i in range(machines):
        if i % per_line == 0:
            line = _ok(client.post("/api/v1/lines", json={"site_id": site["id"], "name": f"{label}Line {i // per_line}",
                                                          "code": f"L-{uuid.uuid4().hex[:6]}"}, headers=h))
            plant.line_ids.append(line["id"])
        machine = _ok(client.post("/api/v1/machines", json={
            "site_id": site["id"], "line_id": plant.line_ids[-1], "name": f"{label}Press {i}",
            "code": f"M{i:04d}-{uuid.uuid4().hex[:4]}", "ideal_cycle_seconds": cycle_seconds}, headers=h))
        plant.machine_ids.append(machine["id"])
    for i in range(terminals):
        operator = join(client, owner, "operator", display_name=f"{label}Operator {i}")
        _ok(client.post(f"/api/v1/sites/{site['id']}/operators", json={"user_id": operator.user_id}, headers=h))
        plant.terminals.append(Terminal(operator, plant.machine_ids[i], plant.line_ids[i // per_line]))
    return plant
