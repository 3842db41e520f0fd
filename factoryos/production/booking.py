"""What a production record is booked against: an active machine, its site and a shift instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from typing import cast

from sqlalchemy import Connection, bindparam, select

from factoryos.errors import ValidationFailed
from factoryos.kpi import ShiftInstance
from factoryos.plant.operators import require_operators
from factoryos.production.loss_models import ShiftRef
from factoryos.production.shifts import kpi_instance, resolve_instance
from factoryos.schema.plant import machines, sites
from factoryos.plant.records import MachineRecord, SiteRecord
from factoryos.production.records import ShiftInstanceRecord

# Machine and its site in one round trip (built once: the hot path of every entry).
_SITE_PREFIX = "site__"
_MACHINE_AND_SITE = (
    select(machines, *(c.label(_SITE_PREFIX + c.name) for c in sites.c))
    .join(sites, (sites.c.tenant_id == machines.c.tenant_id) & (sites.c.id == machines.c.site_id))
    .where(machines.c.tenant_id == bindparam("tenant"), machines.c.id == bindparam("machine"),
           sites.c.tenant_id == bindparam("tenant"))
)


@dataclass(frozen=True)
class Booking:
    machine: MachineRecord
    site: SiteRecord
    instance: ShiftInstanceRecord
    shift: ShiftInstance


def machine_and_site(conn: Connection, tenant_id: UUID, machine_id: UUID, *, field: str = "machine_id",
                     ) -> tuple[MachineRecord, SiteRecord]:
    """An active machine (422 naming `field` if unknown or retired) and its site."""
    row = conn.execute(_MACHINE_AND_SITE, {"tenant": tenant_id, "machine": machine_id}).mappings().first()
    if row is None:
        raise ValidationFailed(f"machine {machine_id} not found", code="machine_not_found", field=field)
    machine = cast(MachineRecord, {k: v for k, v in row.items() if not k.startswith(_SITE_PREFIX)})
    if machine["status"] != "active":
        raise ValidationFailed(f"machine {machine['code']} is retired: no new records can be made for it",
                               code="machine_retired", field=field)
    site = cast(SiteRecord, {k[len(_SITE_PREFIX):]: v for k, v in row.items() if k.startswith(_SITE_PREFIX)})
    return machine, site


def book(conn: Connection, tenant_id: UUID, machine_id: UUID, ref: ShiftRef, at: datetime | None,
         *, require_ref: bool = False) -> Booking:
    """Resolve machine, site and shift instance; without a shift reference, the shift running at `at`."""
    machine, site = machine_and_site(conn, tenant_id, machine_id)
    if require_ref and ref.shift_instance_id is None and ref.shift_id is None and ref.shift_date is None:
        raise ValidationFailed("give shift_instance_id, or shift_id and shift_date", code="shift_required",
                               field="shift_instance_id")
    instance = resolve_instance(conn, tenant_id, site, shift_instance_id=ref.shift_instance_id,
                                shift_id=ref.shift_id, shift_date=ref.shift_date, at=at)
    return Booking(machine, site, instance, kpi_instance(instance))


def operator_for(conn: Connection, tenant_id: UUID, booking: Booking, operator_id: UUID | None,
                 user_id: UUID | None) -> UUID:
    """The operator a record names (default: the caller), who must work at the machine's site."""
    operator = operator_id or user_id
    if operator is None:
        raise ValidationFailed("give operator_id", code="operator_required", field="operator_id")
    require_operators(conn, tenant_id, booking.site["id"], [operator], "operator_id")
    return operator
