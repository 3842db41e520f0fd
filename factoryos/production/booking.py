"""What a production record is booked against: an active machine, its site and a shift instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping

from factoryos.errors import ValidationFailed
from factoryos.kpi import ShiftInstance
from factoryos.plant.machines import require_machine
from factoryos.plant.operators import require_operators
from factoryos.plant.sites import Sites
from factoryos.production.loss_models import ShiftRef
from factoryos.production.shifts import kpi_instance, resolve_instance


@dataclass(frozen=True)
class Booking:
    machine: RowMapping
    site: RowMapping
    instance: RowMapping
    shift: ShiftInstance


def book(conn: Connection, tenant_id: UUID, machine_id: UUID, ref: ShiftRef, at: datetime | None,
         *, require_ref: bool = False) -> Booking:
    """Resolve machine, site and shift instance; without a shift reference, the shift running at `at`."""
    machine = require_machine(conn, tenant_id, machine_id, active=True)
    site = Sites(conn, tenant_id).require(machine["site_id"])
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
