"""Where the poller's machine configs come from: every company's enabled connections.

The poller runs as the app role under RLS, like a request: `connectivity_companies()`
names the companies with connection settings, and each company's settings are read in
that company's tenant transaction. A reload every few seconds must not stall polling
(rows are parsed while holding the GIL), so each company is first asked for a digest of
its settings' `updated_at` stamps; its rows are read only when that changed, and only rows
whose values changed are validated again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Connection, Engine, select, text

from factoryos.connectivity.connections import machine_config
from factoryos.connectivity.counters import StoredCounter
from factoryos.connectivity.machine_config import AnyMachine
from factoryos.connectivity.machine_ref import parse_poll_id, poll_id
from factoryos.db.tenant import tenant_transaction
from factoryos.errors import FactoryOSError
from factoryos.identity.keys import DerivedKeys
from factoryos.plant.records import MachineRecord
from factoryos.production.counter_state import load_counter_state
from factoryos.schema.connectivity import machine_connections as mc
from factoryos.schema.edges import edges
from factoryos.schema.plant import machines

log = logging.getLogger(__name__)

# Every write to a connection or a machine sets its updated_at (the API does; so must any script).
_DIGEST = text(
    """
    select md5(coalesce(string_agg(concat_ws('|', c.machine_id, c.updated_at, m.updated_at), ','
                                   order by c.machine_id), '')
               -- Registering or revoking a site edge moves that site's machines between it and this poller.
               || coalesce((select string_agg(concat_ws('|', e.id, e.revoked_at), ',' order by e.id)
                            from edges e where e.tenant_id = :tenant), ''))
    from machine_connections c join machines m on m.tenant_id = c.tenant_id and m.id = c.machine_id
    where c.tenant_id = :tenant
    """
)
# Read on every reload (a run starting does not change the settings' digest): one indexed look-up.
_RUN_CYCLES = text(
    "select machine_id, cycle_seconds / parts_per_cycle from operation_runs "
    "where tenant_id = :tenant and ended_at is null and cycle_seconds is not null"
)
_CONFIG_COLUMNS = ("protocol", "poll_interval", "endpoint", "signals", "password_encrypted", "key_password_encrypted")
_MACHINE_COLUMNS = ("id", "code", "ideal_cycle_seconds", "status_mapping")


@dataclass(frozen=True)
class LoadedMachine:
    tenant_id: UUID
    poll_id: str
    config: AnyMachine | None
    error: FactoryOSError | None = None  # why the stored settings cannot be polled


@dataclass(frozen=True)
class LoadedConfigs:
    machines: list[LoadedMachine]
    # Poll id → seconds per part of the operation running there, where it runs at a routing's standard.
    run_cycles: dict[str, float] = field(default_factory=dict)

    @property
    def valid(self) -> list[AnyMachine]:
        return [m.config for m in self.machines if m.config is not None]

    @property
    def tenants(self) -> set[UUID]:
        return {m.tenant_id for m in self.machines if m.config is not None}


def connected_companies(conn: Connection) -> list[UUID]:
    return list(conn.execute(text("select * from connectivity_companies()")).scalars())


def _rows(conn: Connection, tenant_id: UUID) -> list[dict[str, Any]]:
    stmt = (
        select(*(mc.c[c] for c in _CONFIG_COLUMNS), *(machines.c[c] for c in _MACHINE_COLUMNS))
        .join(machines, (machines.c.tenant_id == mc.c.tenant_id) & (machines.c.id == mc.c.machine_id))
        .where(mc.c.tenant_id == tenant_id, mc.c.enabled, machines.c.status == "active",
               # A site with a site edge in force is polled by that edge (`factoryos edge`), not here.
               machines.c.site_id.not_in(select(edges.c.site_id).where(edges.c.tenant_id == tenant_id,
                                                                      edges.c.revoked_at.is_(None))))
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]


@dataclass
class _Company:
    digest: str
    rows: dict[str, tuple[dict[str, Any], LoadedMachine]]  # poll id → (stored values, result)


class ConfigSource:
    def __init__(self, engine: Engine, keys: DerivedKeys) -> None:
        self._engine = engine
        self._keys = keys
        self._companies: dict[UUID, _Company] = {}

    def load(self) -> LoadedConfigs:
        """Every enabled connection of every active machine (blocking: run it in a thread)."""
        with tenant_transaction(self._engine, None) as conn:
            companies = connected_companies(conn)
        known: dict[UUID, _Company] = {}
        cycles: dict[str, float] = {}
        for tenant_id in companies:
            with tenant_transaction(self._engine, tenant_id) as conn:
                digest = conn.execute(_DIGEST, {"tenant": tenant_id}).scalar_one()
                cached = self._companies.get(tenant_id)
                if cached is None or cached.digest != digest:
                    cached = _Company(digest, self._compare(tenant_id, _rows(conn, tenant_id), cached))
                running = conn.execute(_RUN_CYCLES, {"tenant": tenant_id}).all() if cached.rows else []
            known[tenant_id] = cached
            cycles.update({poll_id(tenant_id, mid): float(per_part) for mid, per_part in running})
        self._companies = known
        return LoadedConfigs([machine for company in known.values() for _, machine in company.rows.values()], cycles)

    def baselines(self, poll_ids: list[str]) -> dict[str, dict[str, StoredCounter]]:
        """The stored counter baselines of these machines, by poll id then signal (blocking)."""
        by_tenant: dict[UUID, list[UUID]] = {}
        for pid in poll_ids:
            if (ref := parse_poll_id(pid)) is not None:
                by_tenant.setdefault(ref[0], []).append(ref[1])
        out: dict[str, dict[str, StoredCounter]] = {}
        for tenant_id, machine_ids in by_tenant.items():
            with tenant_transaction(self._engine, tenant_id) as conn:
                for row in load_counter_state(conn, tenant_id, machine_ids):
                    out.setdefault(poll_id(tenant_id, row.machine_id), {})[row.signal] = StoredCounter(
                        row.raw, row.read_at)
        return out

    def _compare(
        self, tenant_id: UUID, rows: list[dict[str, Any]], cached: _Company | None
    ) -> dict[str, tuple[dict[str, Any], LoadedMachine]]:
        previous = cached.rows if cached else {}
        out = {}
        for row in rows:
            pid = poll_id(tenant_id, row["id"])
            hit = previous.get(pid)
            out[pid] = (row, hit[1] if hit and hit[0] == row else self._parse(tenant_id, pid, row))
        return out

    def _parse(self, tenant_id: UUID, pid: str, row: dict[str, Any]) -> LoadedMachine:
        try:
            # The row joins the machine's columns with its connection's: a machine record and more.
            return LoadedMachine(tenant_id, pid, machine_config(tenant_id, cast(MachineRecord, row), row, self._keys))
        except FactoryOSError as exc:
            log.error("machine %s (company %s) cannot be polled: %s", row["code"], tenant_id, exc)
            return LoadedMachine(tenant_id, pid, None, exc)
