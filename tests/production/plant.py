"""Small builders for plant data through the API (each returns the created JSON)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.accounts import Session


def _created(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    return r.json()


def code(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def site(api: httpx.Client, who: Session, timezone: str = "Europe/Berlin", **over: Any) -> dict[str, Any]:
    body = {"name": "Plant", "code": code("S"), "timezone": timezone} | over
    return _created(api.post("/api/v1/sites", json=body, headers=who.headers))


def line(api: httpx.Client, who: Session, site_id: str, **over: Any) -> dict[str, Any]:
    body = {"site_id": site_id, "name": "Line", "code": code("L")} | over
    return _created(api.post("/api/v1/lines", json=body, headers=who.headers))


def machine(api: httpx.Client, who: Session, site_id: str, cycle: float | str = 30, **over: Any) -> dict[str, Any]:
    body = {"site_id": site_id, "name": "Press", "code": code("M"), "ideal_cycle_seconds": cycle} | over
    return _created(api.post("/api/v1/machines", json=body, headers=who.headers))


def shift(api: httpx.Client, who: Session, site_id: str, name: str, start: str, end: str,
          breaks: list[tuple[str, str]] = (), **over: Any) -> dict[str, Any]:
    body = {"site_id": site_id, "name": name, "start": start, "end": end,
            "breaks": [{"start": a, "end": b} for a, b in breaks]} | over
    return _created(api.post("/api/v1/shifts", json=body, headers=who.headers))


def operator(api: httpx.Client, who: Session, site_id: str, user_id: str) -> dict[str, Any]:
    return _created(api.post(f"/api/v1/sites/{site_id}/operators", json={"user_id": user_id}, headers=who.headers))


def problem(r: httpx.Response, status: int, code_: str, field: str | None = None) -> dict[str, Any]:
    """Assert a problem+json answer with this status, code and (optionally) field."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code_, body
    if field is not None:
        assert body.get("field") == field, body
    return body
