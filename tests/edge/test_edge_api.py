"""Registering site edges over the real API: credentials shown once, rotated, revoked, audited;
the edge's own call gives its site's machines only; the central poller leaves that site alone."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from factoryos.connectivity.config_source import ConfigSource
from factoryos.connectivity.simulator import Simulator
from factoryos.edge.registry import secret_matches
from factoryos.identity.keys import DerivedKeys
from tests.accounts import new_company
from tests.connectivity.support import free_port
from tests.edge.harness import build_company, connect, register_edge
from tests.production import plant


def _config(http, token: str):  # type: ignore[no-untyped-def]
    return http.get("/api/v1/edge/config", headers={"Authorization": f"Bearer {token}"})


def _audit(superuser_engine, tenant_id) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with superuser_engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "select action, entity_id from audit_log where tenant_id = :t and entity_type = 'edge' order by seq"),
            {"t": tenant_id})]


async def test_register_rotate_revoke_and_the_edges_own_call(http, superuser_engine, app_engine, settings) -> None:
    company = build_company(http, 2)
    async with Simulator(2, protocol="modbus", seed=1, modbus_port=free_port(), tick=None) as sim:
        made = register_edge(http, company)
        connect(http, company, sim)
    edge_id = made["id"]
    assert made["group_id"] == str(company.tenant_id) and made["mqtt_username"] == edge_id
    assert made["token"].startswith("edge_") and made["secret"] in made["token"]
    with superuser_engine.connect() as conn:
        stored = conn.execute(text("select secret_hash from edges where id = :e"), {"e": edge_id}).scalar_one()
    assert made["secret"] not in stored and secret_matches(made["secret"], stored)  # only a hash is kept

    # The list never shows a secret again.
    r = http.get("/api/v1/edges", headers=company.owner.headers)
    assert r.status_code == 200
    (listed,) = r.json()["items"]
    assert listed["id"] == edge_id and "secret" not in listed and "token" not in listed

    # The edge's own call: its site's machines, with what the PLC connection needs.
    r = _config(http, made["token"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["site_id"] == company.site["id"]
    assert sorted(m["machine_id"] for m in body["machines"]) == sorted(company.poll_id(m) for m in company.machines)
    assert company.poll_id(company.other_machine) not in {m["machine_id"] for m in body["machines"]}

    # The central poller no longer polls a site that has an edge.
    keys = DerivedKeys.from_secret(settings.secret_key.get_secret_value())
    loaded = {m.poll_id for m in ConfigSource(app_engine, keys).load().machines}
    assert not loaded & {company.poll_id(m) for m in company.machines}

    # Wrong secret, garbage, no token: refused with the edge's own code.
    forged = made["token"][:-4] + "abcd"
    for headers in ({"Authorization": f"Bearer {forged}"}, {"Authorization": "Bearer nonsense"}, {}):
        r = http.get("/api/v1/edge/config", headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "edge_unauthorized", r.text

    # Rotation: new credentials once; the old token stops working.
    r = http.post(f"/api/v1/edges/{edge_id}/rotate", headers=company.owner.headers)
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["secret"] != made["secret"] and rotated["rotated_at"] is not None
    assert _config(http, made["token"]).status_code == 401
    assert _config(http, rotated["token"]).status_code == 200

    # Revocation: refused from now on; a revoked edge cannot be rotated back to life.
    r = http.post(f"/api/v1/edges/{edge_id}/revoke", headers=company.owner.headers)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert _config(http, rotated["token"]).status_code == 401
    r = http.post(f"/api/v1/edges/{edge_id}/rotate", headers=company.owner.headers)
    assert r.status_code == 409 and r.json()["code"] == "edge_revoked", r.text

    assert _audit(superuser_engine, company.tenant_id) == [
        ("create", edge_id), ("rotate_secret", edge_id), ("revoke", edge_id)]


def test_registration_is_refused_with_field_named_errors(http) -> None:
    owner = new_company(http, timezone="UTC")
    site = plant.site(http, owner, timezone="UTC")
    r = http.post("/api/v1/edges", json={"site_id": str(uuid.uuid4()), "name": "X"}, headers=owner.headers)
    assert r.status_code == 422 and r.json()["code"] == "site_not_found" and r.json()["field"] == "site_id", r.text
    r = http.post("/api/v1/edges", json={"site_id": site["id"], "name": "Hall"}, headers=owner.headers)
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/edges", json={"site_id": site["id"], "name": "Hall"}, headers=owner.headers)
    assert r.status_code == 409 and r.json()["code"] == "edge_name_taken" and r.json()["field"] == "name", r.text
    r = http.post("/api/v1/edges", json={"site_id": site["id"], "name": "   "}, headers=owner.headers)
    assert r.status_code == 422 and r.json()["field"] == "name", r.text
    r = http.post(f"/api/v1/edges/{uuid.uuid4()}/revoke", headers=owner.headers)
    assert r.status_code == 404 and r.json()["code"] == "edge_not_found", r.text
    # Another company's edge is not there at all.
    other = new_company(http, timezone="UTC")
    r = http.get("/api/v1/edges", headers=other.headers)
    assert r.status_code == 200 and r.json()["items"] == []
