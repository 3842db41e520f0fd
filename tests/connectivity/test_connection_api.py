"""Connection settings over the real API: validation naming the field, write-only passwords
encrypted at rest, audit rows, permissions, tenancy, and the poller's company directory."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from factoryos.connectivity.credentials import decrypt_password
from factoryos.db.tenant import tenant_transaction
from factoryos.identity.keys import DerivedKeys
from tests.accounts import Session, join, new_company
from tests.connectivity.conftest import connection_url as url
from tests.production.plant import problem

SECRET = "pa55-w0rd-never-echoed"


def modbus_body(**endpoint: object) -> dict:
    return {
        "protocol": "modbus",
        "poll_interval": 0.5,
        "endpoint": {"host": "plc-7.local", "port": 5020, "unit_id": 3} | endpoint,
        "signals": {
            "good": {"address": 0, "data_type": "uint32", "word_order": "little"},
            "reject": {"address": 2, "data_type": "uint32"},
            "state": {"address": 4},
        },
    }


def opcua_body(**endpoint: object) -> dict:
    return {
        "protocol": "opcua",
        "endpoint": {"url": "opc.tcp://press-1.local:4840", "username": "poller", "password": SECRET} | endpoint,
        "signals": {"good": "ns=2;s=Press1.Good", "reject": "ns=2;s=Press1.Reject", "state": "ns=2;i=1003"},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (modbus_body(port=70000), "endpoint.port"),
        (modbus_body(host=""), "endpoint.host"),
        ({**modbus_body(), "signals": {"good": {"address": 0}, "reject": {"address": 1}}}, "signals.state"),
        ({**modbus_body(), "signals": {**modbus_body()["signals"], "state": {"address": 3, "data_type": "int64"}}},
         "signals.state.data_type"),
        ({**opcua_body(), "signals": {**opcua_body()["signals"], "good": "Press1.Good"}}, "signals.good"),
        (opcua_body(url="http://press-1.local"), "endpoint.url"),
        (opcua_body(password=None), "endpoint"),  # a user name needs its password
        (opcua_body(security={"policy": "Basic256Sha256", "mode": "Sign", "client_certificate": "certs/c.der",
                              "client_private_key": "/etc/factoryos/c.pem", "server_certificate": "/etc/s.der"}),
         "endpoint.security.client_certificate"),
        ({**modbus_body(), "endpoint": "plc-7.local"}, "endpoint"),
    ],
)
def test_invalid_settings_name_the_field(api: httpx.Client, owner: Session, machine: dict, body: dict,
                                         field: str) -> None:
    problem(api.put(url(machine), json=body, headers=owner.headers), 422, "invalid_machine_config", field)


def test_framework_checks_name_the_field_too(api: httpx.Client, owner: Session, machine: dict) -> None:
    problem(api.put(url(machine), json={**modbus_body(), "protocol": "profinet"}, headers=owner.headers), 422,
            "validation_failed", "protocol")
    problem(api.put(url(machine), json={**modbus_body(), "poll_interval": 0}, headers=owner.headers), 422,
            "validation_failed", "poll_interval")


def test_passwords_are_write_only_encrypted_and_kept(api: httpx.Client, owner: Session, machine: dict,
                                                     superuser_engine: Engine, settings) -> None:
    h = owner.headers
    problem(api.get(url(machine), headers=h), 404, "connection_not_found")
    r = api.put(url(machine), json=opcua_body(), headers=h)
    assert r.status_code == 200, r.text
    assert SECRET not in r.text and "password" not in r.json()["endpoint"]
    out = r.json()
    assert (out["protocol"], out["enabled"], out["poll_interval"], out["has_password"]) == ("opcua", True, 1.0, True)
    assert out["endpoint"]["username"] == "poller" and out["endpoint"]["security"]["policy"] == "None"
    assert out["health"] == {"state": "reconnecting", "last_ok": None, "last_error": None, "error_code": None,
                             "reported_at": None}

    with superuser_engine.connect() as conn:
        stored, endpoint = conn.execute(
            text("select password_encrypted, endpoint::text from machine_connections where machine_id = :m"),
            {"m": machine["id"]},
        ).one()
    keys = DerivedKeys.from_secret(settings.secret_key.get_secret_value())
    assert SECRET not in stored and SECRET not in endpoint and decrypt_password(keys, stored) == SECRET

    # Saving again without the password (it is never sent back) keeps it, as does disabling.
    edited = opcua_body(timeout=8) | {"enabled": False}
    del edited["endpoint"]["password"]
    r = api.put(url(machine), json=edited, headers=h)
    assert r.status_code == 200 and r.json()["has_password"] and r.json()["enabled"] is False
    assert r.json()["endpoint"]["timeout"] == 8
    with superuser_engine.connect() as conn:
        assert conn.execute(text("select password_encrypted from machine_connections where machine_id = :m"),
                            {"m": machine["id"]}).scalar_one() == stored
    # Another user name does not inherit the old user's password.
    renamed = opcua_body(username="someone-else")
    del renamed["endpoint"]["password"]
    problem(api.put(url(machine), json=renamed, headers=h), 422, "invalid_machine_config", "endpoint")

    r = api.get(url(machine), headers=h)
    assert r.status_code == 200 and SECRET not in r.text and r.json()["endpoint"]["timeout"] == 8

    with superuser_engine.connect() as conn:
        audit = conn.execute(
            text("select action, before::text, after::text from audit_log where tenant_id = :t "
                 "and entity_type = 'machine_connection' order by seq"),
            {"t": owner.tenant_id},
        ).all()
    assert [a for a, _, _ in audit] == ["create", "update"]
    assert all(SECRET not in (b or "") + (a or "") for _, b, a in audit)
    assert '"passwords_changed": true' in audit[0][2] and '"passwords_changed": false' in audit[1][2]

    assert api.delete(url(machine), headers=h).status_code == 204
    problem(api.get(url(machine), headers=h), 404, "connection_not_found")
    problem(api.delete(url(machine), headers=h), 404, "connection_not_found")


def test_switching_protocol_drops_stored_passwords(api: httpx.Client, owner: Session, machine: dict) -> None:
    assert api.put(url(machine), json=opcua_body(), headers=owner.headers).json()["has_password"]
    r = api.put(url(machine), json=modbus_body(), headers=owner.headers)
    assert r.status_code == 200 and r.json()["has_password"] is False
    assert r.json()["endpoint"] == {"host": "plc-7.local", "port": 5020, "unit_id": 3, "timeout": 2.0}
    assert r.json()["signals"]["good"]["word_order"] == "little"


def test_permissions_and_other_companies(api: httpx.Client, owner: Session, machine: dict) -> None:
    assert api.put(url(machine), json=modbus_body(), headers=owner.headers).status_code == 200
    supervisor = join(api, owner, "supervisor")
    for method in ("GET", "PUT", "DELETE"):
        r = api.request(method, url(machine), json=modbus_body() if method == "PUT" else None,
                        headers=supervisor.headers)
        problem(r, 403, "permission_denied")
    stranger = new_company(api)
    problem(api.get(url(machine), headers=stranger.headers), 404, "machine_not_found")
    problem(api.put(url(machine), json=modbus_body(), headers=stranger.headers), 404, "machine_not_found")
    problem(api.get(f"/api/v1/machines/{uuid.uuid4()}/connection", headers=owner.headers), 404, "machine_not_found")


def test_deleting_a_machine_removes_its_connection_and_directory_entry(
    api: httpx.Client, owner: Session, machine: dict, app_engine: Engine, superuser_engine: Engine
) -> None:
    assert api.put(url(machine), json=modbus_body(), headers=owner.headers).status_code == 200
    tenant = uuid.UUID(owner.tenant_id)
    with tenant_transaction(app_engine, None) as conn:
        assert tenant in set(conn.execute(text("select * from connectivity_companies()")).scalars())
    assert api.delete(f"/api/v1/machines/{machine['id']}", headers=owner.headers).status_code == 204
    with tenant_transaction(app_engine, None) as conn:
        assert tenant not in set(conn.execute(text("select * from connectivity_companies()")).scalars())
    with superuser_engine.connect() as conn:
        assert conn.execute(text("select count(*) from machine_connections where machine_id = :m"),
                            {"m": machine["id"]}).scalar_one() == 0


def test_the_app_role_cannot_read_the_directory_itself(app_engine: Engine) -> None:
    with pytest.raises(ProgrammingError, match="permission denied"), tenant_transaction(app_engine, None) as conn:
        conn.execute(text("select * from connection_directory"))


def test_a_moved_counter_forgets_its_stored_baseline(api: httpx.Client, owner: Session, machine: dict,
                                                      superuser_engine: Engine) -> None:
    """If the server restarts before polling the new register, it must not count from the old one's value."""
    assert api.put(url(machine), json=modbus_body(), headers=owner.headers).status_code == 200
    with superuser_engine.begin() as conn:
        for signal in ("good", "reject"):
            conn.execute(text("insert into machine_counter_state (tenant_id, machine_id, signal, raw, read_at) "
                              "values (:t, :m, :s, 4000, now())"),
                         {"t": owner.tenant_id, "m": machine["id"], "s": signal})

    def stored() -> set[str]:
        with superuser_engine.connect() as conn:
            return set(conn.execute(text("select signal from machine_counter_state where machine_id = :m"),
                                    {"m": machine["id"]}).scalars())

    same_place = modbus_body()
    same_place["poll_interval"] = 2.0  # another setting: both counters are still the same counters
    assert api.put(url(machine), json=same_place, headers=owner.headers).status_code == 200
    assert stored() == {"good", "reject"}
    moved = modbus_body()
    moved["signals"]["good"]["address"] = 10
    assert api.put(url(machine), json=moved, headers=owner.headers).status_code == 200
    assert stored() == {"reject"}
    assert api.put(url(machine), json=modbus_body(host="plc-8.local"), headers=owner.headers).status_code == 200
    assert stored() == set()  # another PLC: every counter is new
