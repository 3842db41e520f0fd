"""Machines: the per-site registry every production record and signal refers to."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, func

from factoryos.catalog.entries import require_entry
from factoryos.db.repository import Page, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.kpi import cycle_time
from factoryos.plant.constraints import constraint_errors
from factoryos.plant.lines import require_line
from factoryos.plant.models import MachineIn, MachineOut, MachinePatch, MachineQuery, ideal_cycle_seconds
from factoryos.plant.patching import changes
from factoryos.plant.records import MachineRecord
from factoryos.plant.sites import require_site
from factoryos.plant.status import StatusMapping
from factoryos.schema.plant import machines


class Machines(TenantRepository[MachineRecord]):
    table = machines
    entity = "machine"


def _code_taken(code: str) -> Conflict:
    return Conflict(f"a machine with code {code!r} already exists", code="machine_code_taken", field="code")


def require_machine(conn: Connection, tenant_id: UUID, machine_id: UUID, *, active: bool = False,
                    field: str = "machine_id") -> MachineRecord:
    """The machine a body refers to (422 naming `field` if unknown, or retired when `active`)."""
    machine = Machines(conn, tenant_id).get(machine_id)
    if machine is None:
        raise ValidationFailed(f"machine {machine_id} not found", code="machine_not_found", field=field)
    if active and machine["status"] != "active":
        raise ValidationFailed(
            f"machine {machine['code']} is retired: no new records can be made for it",
            code="machine_retired",
            field=field,
        )
    return machine


def machine_cycle(machine: MachineRecord | RowMapping) -> timedelta:
    return cycle_time(machine["ideal_cycle_seconds"])


def machine_out(row: MachineRecord | RowMapping) -> MachineOut:
    cycle = Decimal(row["ideal_cycle_seconds"])
    return MachineOut(
        **{k: row[k] for k in ("id", "site_id", "line_id", "name", "code", "status", "catalog_model_id",
                               "created_at", "updated_at")},
        ideal_cycle_seconds=float(cycle),
        ideal_rate_per_hour=float(Decimal(3600) / cycle),
        capacity_per_hour=None if row["capacity_per_hour"] is None else float(row["capacity_per_hour"]),
        status_mapping=StatusMapping.model_validate(row["status_mapping"]),
    )


def status_mapping(machine: MachineRecord | RowMapping) -> StatusMapping:
    return StatusMapping.model_validate(machine["status_mapping"])


def _check_refs(conn: Connection, tenant_id: UUID, site_id: UUID, values: dict[str, Any]) -> None:
    if values.get("line_id") is not None:
        line = require_line(conn, tenant_id, values["line_id"])
        if line["site_id"] != site_id:
            raise ValidationFailed("the line belongs to another site", code="line_other_site", field="line_id")
    if values.get("catalog_model_id") is not None:
        require_entry(conn, values["catalog_model_id"], "machine_model", field="catalog_model_id")


def create_machine(conn: Connection, tenant_id: UUID, data: MachineIn) -> MachineRecord:
    require_site(conn, tenant_id, data.site_id)
    values = data.model_dump(exclude={"ideal_rate_per_hour", "ideal_cycle_seconds", "status_mapping"})
    _check_refs(conn, tenant_id, data.site_id, values)
    values["ideal_cycle_seconds"] = ideal_cycle_seconds(data.ideal_cycle_seconds, data.ideal_rate_per_hour)
    values["status_mapping"] = data.status_mapping.model_dump(mode="json")
    with constraint_errors(conn, {"uq_machines_tenant_code": _code_taken(data.code)}):
        return Machines(conn, tenant_id).insert(**values)


def list_machines(conn: Connection, tenant_id: UUID, query: MachineQuery) -> Page:
    clauses = []
    for name in ("site_id", "line_id", "status"):
        if getattr(query, name) is not None:
            clauses.append(machines.c[name] == getattr(query, name))
    return Machines(conn, tenant_id).page(
        *clauses, limit=query.limit, cursor=query.cursor, search=query.q, search_columns=("name", "code")
    )


def update_machine(
    conn: Connection, tenant_id: UUID, machine_id: UUID, patch: MachinePatch
) -> tuple[MachineRecord, MachineRecord]:
    repo = Machines(conn, tenant_id)
    before = repo.require(machine_id, for_update=True)
    values = changes(patch, nullable=("line_id", "capacity_per_hour", "catalog_model_id"))
    _check_refs(conn, tenant_id, before["site_id"], values)
    cycle, rate = values.pop("ideal_cycle_seconds", None), values.pop("ideal_rate_per_hour", None)
    if cycle is not None or rate is not None:
        values["ideal_cycle_seconds"] = ideal_cycle_seconds(cycle, rate)
    if "status_mapping" in values:
        values["status_mapping"] = patch.status_mapping.model_dump(mode="json")  # type: ignore[union-attr]
    if not values:
        return before, before
    values["updated_at"] = func.now()
    with constraint_errors(conn, {"uq_machines_tenant_code": _code_taken(values.get("code", ""))}):
        after = repo.update(machine_id, **values)
    assert after is not None
    return before, after


def delete_machine(conn: Connection, tenant_id: UUID, machine_id: UUID) -> MachineRecord:
    repo = Machines(conn, tenant_id)
    before = repo.require(machine_id, for_update=True)
    in_use = Conflict(
        "this machine has production records: set its status to 'retired' instead",
        code="machine_in_use",
        field="machine_id",
    )
    with constraint_errors(conn, {}, fallback=in_use):
        repo.delete(machine_id)
    return before
