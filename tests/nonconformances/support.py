"""Builders for the nonconformance tests: a plant with people in each quality role, NCs through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, text

from tests.accounts import Session, join, new_company
from tests.production import plant

NC = "/api/v1/nonconformances"
CAPA = "/api/v1/capas"


@dataclass
class QualityPlant:
    owner: Session
    operator: Session
    supervisor: Session
    manager: Session  # plant manager: may approve
    site: dict[str, Any]
    machine: dict[str, Any]


def quality_plant(http: httpx.Client) -> QualityPlant:
    owner = new_company(http)
    site = plant.site(http, owner)
    machine = plant.machine(http, owner, site["id"])
    return QualityPlant(owner, join(http, owner, "operator"), join(http, owner, "supervisor"),
                        join(http, owner, "plant_manager"), site, machine)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def open_nc(http: httpx.Client, who: Session, machine_id: str, **over: Any) -> dict[str, Any]:
    body = {"machine_id": machine_id, "quantity": 12, "description": "Burr on the flange edge"} | over
    return ok(http.post(NC, json=body, headers=who.headers), 201)


def disposition(http: httpx.Client, who: Session, nc_id: str, decision: str = "rework", **over: Any) -> dict[str, Any]:
    body = {"disposition": decision, "note": "Deburr by hand"} | over
    return ok(http.post(f"{NC}/{nc_id}/disposition", json=body, headers=who.headers))


def signature(who: Session, meaning: str = "approved", **over: Any) -> dict[str, Any]:
    return {"password": who.password, "meaning": meaning, "reason": "Checked the parts"} | over


def audit_rows(engine: Engine, tenant: str, action: str, entity_type: str | None = None) -> list[dict[str, Any]]:
    sql = "select * from audit_log where tenant_id = :t and action = :a"
    params: dict[str, Any] = {"t": tenant, "a": action}
    if entity_type is not None:
        sql += " and entity_type = :e"
        params["e"] = entity_type
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql + " order by seq"), params).mappings()]
