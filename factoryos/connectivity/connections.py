"""Machine connection settings in the database: read, replace, delete, and turn into poller configs.

Call inside a tenant transaction. The stored endpoint holds no passwords: they live in
their own columns, encrypted (`factoryos.connectivity.credentials`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from factoryos.connectivity.connection_models import ConnectionHealth, ConnectionIn, ConnectionOut, LiveConnection
from factoryos.connectivity.credentials import decrypt_password, encrypt_password
from factoryos.connectivity.events import Health
from factoryos.connectivity.machine_config import (
    AnyMachine,
    MqttMachine,
    OpcUaEndpoint,
    OpcUaMachine,
    parse_machine_config,
)
from factoryos.connectivity.machine_ref import poll_id
from factoryos.connectivity.monitor import counter_source
from factoryos.errors import NotFound, ValidationFailed
from factoryos.identity.keys import DerivedKeys
from factoryos.plant.machines import Machines
from factoryos.plant.records import MachineRecord
from factoryos.schema.connectivity import machine_connections as mc
from factoryos.schema.production import machine_counter_state as counter_state

_SECURITY_FILES = ("client_certificate", "client_private_key", "server_certificate")
_BROKER_FILES = ("ca_certificate", "client_certificate", "client_private_key")


def _not_found(machine_id: UUID) -> NotFound:
    return NotFound(f"machine {machine_id} has no connection settings", code="connection_not_found")


def get_connection(conn: Connection, tenant_id: UUID, machine_id: UUID, *, for_update: bool = False) -> RowMapping:
    Machines(conn, tenant_id).require(machine_id)
    row = _row(conn, tenant_id, machine_id, for_update=for_update)
    if row is None:
        raise _not_found(machine_id)
    return row


def _row(conn: Connection, tenant_id: UUID, machine_id: UUID, *, for_update: bool = False) -> RowMapping | None:
    stmt = select(mc).where(mc.c.tenant_id == tenant_id, mc.c.machine_id == machine_id)
    return conn.execute(stmt.with_for_update() if for_update else stmt).mappings().first()


# Stored as `error_code` (with no `last_error`) when settings the poller acts on are saved: the
# health reported for the previous settings no longer says anything. The poller's next report
# replaces it; reports made before the save are older than `health_at` and ignored.
RECONNECTING = "reconnecting"
# The columns whose change makes the poller reconnect the machine.
_POLLED = ("protocol", "enabled", "poll_interval", "endpoint", "signals", "password_encrypted",
           "key_password_encrypted")


def health_of(row: RowMapping) -> ConnectionHealth:
    waiting = row["error_code"] == RECONNECTING or row["health_at"] is None
    if not row["enabled"]:
        state = "disabled"
    elif waiting:
        state = "reconnecting"
    else:
        state = "error" if row["last_error"] is not None else "ok"
    return ConnectionHealth(
        state=state, last_ok=row["last_ok_at"], last_error=None if waiting else row["last_error"],
        error_code=None if waiting else row["error_code"],
        reported_at=None if row["error_code"] == RECONNECTING else row["health_at"],
    )


def connection_out(row: RowMapping) -> ConnectionOut:
    return ConnectionOut(
        machine_id=row["machine_id"], protocol=row["protocol"], enabled=row["enabled"],
        poll_interval=row["poll_interval"], endpoint=row["endpoint"], signals=row["signals"],
        has_password=row["password_encrypted"] is not None,
        has_key_password=row["key_password_encrypted"] is not None,
        health=health_of(row), created_at=row["created_at"], updated_at=row["updated_at"],
    )


def live_connections(conn: Connection, tenant_id: UUID, machine_ids: Iterable[UUID]) -> dict[UUID, LiveConnection]:
    """Connection and health of each machine that has connection settings (for the live view)."""
    rows = conn.execute(select(mc).where(mc.c.tenant_id == tenant_id, mc.c.machine_id.in_(list(machine_ids))))
    return {
        r["machine_id"]: LiveConnection(protocol=r["protocol"], enabled=r["enabled"], health=health_of(r))
        for r in rows.mappings()
    }


def machine_config(
    tenant_id: UUID, machine: MachineRecord, connection: dict[str, Any], keys: DerivedKeys
) -> AnyMachine:
    """A stored (or proposed) connection of `machine` as the poller's validated config.

    `connection` has the columns of `machine_connections`; its passwords are decrypted
    and put back into the endpoint. Raises `ValidationFailed` naming the field.
    """
    endpoint = copy.deepcopy(dict(connection["endpoint"]))
    if connection.get("password_encrypted"):
        endpoint["password"] = decrypt_password(keys, connection["password_encrypted"])
    if connection.get("key_password_encrypted") and isinstance(endpoint.get("security"), dict):
        endpoint["security"]["private_key_password"] = decrypt_password(keys, connection["key_password_encrypted"])
    return parse_machine_config({
        "machine_id": poll_id(tenant_id, machine["id"]),
        "name": machine["code"],
        "protocol": connection["protocol"],
        "poll_interval": connection["poll_interval"],
        "ideal_cycle_time": float(machine["ideal_cycle_seconds"]),
        "status_map": machine["status_mapping"],
        "endpoint": endpoint,
        "signals": connection["signals"],
    })


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field}: must be an object", code="invalid_machine_config", field=field)
    return copy.deepcopy(value)


def _secret(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"{field}: must be a non-empty string", code="invalid_machine_config", field=field)
    return value


def _check_paths(config: AnyMachine) -> None:
    """Certificate and key files are read by the poller on the server host: relative paths would
    depend on whichever directory it was started from."""
    if isinstance(config, OpcUaMachine):
        files = [(f"endpoint.security.{n}", getattr(config.endpoint.security, n)) for n in _SECURITY_FILES]
    elif isinstance(config, MqttMachine):
        files = [(f"endpoint.{n}", getattr(config.endpoint, n)) for n in _BROKER_FILES]
    else:
        return
    for field, path in files:
        if path is not None and not PurePath(path).is_absolute():
            raise ValidationFailed(f"{field}: must be an absolute path on the server host",
                                   code="invalid_machine_config", field=field)


@dataclass(frozen=True)
class _Proposal:
    machine: MachineRecord
    before: RowMapping | None
    config: AnyMachine
    password: str | None  # entered now (else the stored one, if kept)
    key_password: str | None
    stored_password: str | None
    stored_key_password: str | None


def proposed_config(conn: Connection, tenant_id: UUID, machine_id: UUID, body: ConnectionIn,
                    keys: DerivedKeys) -> AnyMachine:
    """The poller's config of settings not saved (yet): passwords left out are the stored ones,
    as saving would keep them. For *Test connection*."""
    return _propose(conn, tenant_id, machine_id, body, keys, for_update=False).config


# Browsing comes before the signals are chosen: the endpoint is checked alone, with every signal
# on the Objects folder (a node every OPC-UA server has), and only the endpoint is used.
_PLACEHOLDER_SIGNALS = {"good": "i=85", "reject": "i=85", "state": "i=85"}


def proposed_opcua_endpoint(conn: Connection, tenant_id: UUID, machine_id: UUID, endpoint: dict[str, Any],
                            keys: DerivedKeys) -> OpcUaEndpoint:
    """An OPC-UA endpoint not saved (yet), passwords left out being the stored ones. For browsing."""
    body = ConnectionIn(protocol="opcua", endpoint=endpoint, signals=_PLACEHOLDER_SIGNALS)
    config = _propose(conn, tenant_id, machine_id, body, keys, for_update=False).config
    assert isinstance(config.endpoint, OpcUaEndpoint)
    return config.endpoint


def _propose(conn: Connection, tenant_id: UUID, machine_id: UUID, body: ConnectionIn, keys: DerivedKeys, *,
             for_update: bool) -> _Proposal:
    machine = Machines(conn, tenant_id).require(machine_id)
    before = _row(conn, tenant_id, machine_id, for_update=for_update)
    endpoint = _object(body.endpoint, "endpoint")
    signals = _object(body.signals, "signals")
    password = _secret(endpoint.pop("password", None), "endpoint.password")
    security = endpoint.get("security")
    key_password = None
    if isinstance(security, dict):
        key_password = _secret(security.pop("private_key_password", None), "endpoint.security.private_key_password")

    # Passwords left out keep the stored ones, as long as what they belong to is still there.
    stored_password = stored_key_password = None
    if before is not None and before["protocol"] == body.protocol and body.protocol in ("opcua", "mqtt"):
        if password is None and endpoint.get("username") == before["endpoint"].get("username"):
            stored_password = before["password_encrypted"]
        keeps_key = isinstance(security, dict) and security.get("policy", "None") != "None"
        if key_password is None and keeps_key:
            stored_key_password = before["key_password_encrypted"]
    proposed: dict[str, Any] = {
        "protocol": body.protocol, "poll_interval": body.poll_interval, "endpoint": endpoint, "signals": signals,
        "password_encrypted": stored_password, "key_password_encrypted": stored_key_password,
    }
    if password is not None:
        proposed["endpoint"] = endpoint | {"password": password}
    if key_password is not None:
        proposed["endpoint"] = copy.deepcopy(proposed["endpoint"])
        proposed["endpoint"]["security"]["private_key_password"] = key_password
    config = machine_config(tenant_id, machine, proposed, keys)
    _check_paths(config)
    return _Proposal(machine, before, config, password, key_password, stored_password, stored_key_password)


def put_connection(
    conn: Connection, tenant_id: UUID, machine_id: UUID, body: ConnectionIn, keys: DerivedKeys
) -> tuple[RowMapping | None, RowMapping, bool]:
    """Create or replace a machine's connection: (before, after, passwords changed)."""
    proposal = _propose(conn, tenant_id, machine_id, body, keys, for_update=True)
    machine, before, config = proposal.machine, proposal.before, proposal.config
    password, key_password = proposal.password, proposal.key_password
    stored_password, stored_key_password = proposal.stored_password, proposal.stored_key_password
    exclude: Any = {"password": True, "security": {"private_key_password"}} if body.protocol == "opcua" else (
        {"password": True} if body.protocol == "mqtt" else None)
    values: dict[str, Any] = {
        "protocol": body.protocol,
        "enabled": body.enabled,
        "poll_interval": config.poll_interval,
        "endpoint": config.endpoint.model_dump(mode="json", exclude=exclude),
        "signals": config.signals.model_dump(mode="json"),
        "password_encrypted": encrypt_password(keys, password) if password is not None else stored_password,
        "key_password_encrypted": (
            encrypt_password(keys, key_password) if key_password is not None else stored_key_password
        ),
        "updated_at": func.now(),
    }
    if before is None or any(before[c] != values[c] for c in _POLLED):
        # In this transaction: no GET after the commit may show the old settings' error. Stamped by
        # this process's clock, which the poller's reports are compared with (same host), not the database's.
        values |= {"last_error": None, "error_code": RECONNECTING, "health_at": datetime.now(UTC)}
    if before is not None:
        _forget_moved_counters(conn, tenant_id, machine, before, config, keys)
    after = conn.execute(
        pg_insert(mc).values(tenant_id=tenant_id, machine_id=machine_id, **values)
        .on_conflict_do_update(index_elements=[mc.c.tenant_id, mc.c.machine_id], set_=values)
        .returning(mc)
    ).mappings().one()
    return before, after, password is not None or key_password is not None


def _forget_moved_counters(conn: Connection, tenant_id: UUID, machine: MachineRecord, before: RowMapping,
                           config: AnyMachine, keys: DerivedKeys) -> None:
    """A counter now read from elsewhere is another counter: its stored baseline must not be
    counted from if the server restarts before the poller has read the new one."""
    try:
        old = machine_config(tenant_id, machine, dict(before), keys)
    except ValidationFailed:  # settings that could not be polled left no baseline worth keeping
        old = None
    moved = [s for s in ("good", "reject") if old is None or counter_source(old, s) != counter_source(config, s)]
    if moved:
        conn.execute(delete(counter_state).where(counter_state.c.tenant_id == tenant_id,
                                                 counter_state.c.machine_id == machine["id"],
                                                 counter_state.c.signal.in_(moved)))


def delete_connection(conn: Connection, tenant_id: UUID, machine_id: UUID) -> RowMapping:
    Machines(conn, tenant_id).require(machine_id)
    row = conn.execute(
        delete(mc).where(mc.c.tenant_id == tenant_id, mc.c.machine_id == machine_id).returning(mc)
    ).mappings().first()
    if row is None:
        raise _not_found(machine_id)
    return row


_HEALTH = text(
    """
    update machine_connections c
    set last_ok_at = u.last_ok, last_error = u.last_error, error_code = u.error_code, health_at = u.at
    from unnest(cast(:machines as uuid[]), cast(:oks as timestamptz[]), cast(:errors as text[]),
                cast(:codes as text[]), cast(:ats as timestamptz[]))
         as u(machine_id, last_ok, last_error, error_code, at)
    where c.tenant_id = :tenant and c.machine_id = u.machine_id and (c.health_at is null or c.health_at <= u.at)
    """
)


def record_health(conn: Connection, tenant_id: UUID, reports: Iterable[tuple[UUID, Health]]) -> None:
    """Store the newest health report of each machine; older or replayed reports change nothing.

    Machines without connection settings (deleted meanwhile) are skipped.
    """
    latest: dict[UUID, Health] = {}
    for machine_id, health in reports:
        if machine_id not in latest or latest[machine_id].at <= health.at:
            latest[machine_id] = health
    if not latest:
        return
    items = list(latest.items())
    conn.execute(_HEALTH, {
        "tenant": tenant_id,
        "machines": [m for m, _ in items],
        "oks": [h.last_ok for _, h in items],
        "errors": [h.last_error[:2000] if h.last_error else None for _, h in items],
        "codes": [h.error_code[:60] if h.error_code else None for _, h in items],
        "ats": [h.at for _, h in items],
    })
