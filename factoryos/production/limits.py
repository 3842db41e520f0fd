"""Plausibility of quantities: nobody makes more than the ideal rate allows in the time given."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import RowMapping

from factoryos.errors import ValidationFailed
from factoryos.plant.machines import machine_cycle
from factoryos.plant.records import MachineRecord


def max_units(window: timedelta, cycle: timedelta) -> int:
    return max(0, window // cycle)


def _duration(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def check_quantity(quantity: int, window: timedelta, machine: MachineRecord | RowMapping, field: str) -> None:
    """Reject `quantity` above what `machine` can make in `window` at its ideal rate."""
    cycle = machine_cycle(machine)
    limit = max_units(window, cycle)
    if quantity > limit:
        rate = timedelta(hours=1) / cycle
        raise ValidationFailed(
            f"{field} {quantity} is more than machine {machine['code']} can make in {_duration(window)} "
            f"at its ideal rate of {rate:.4g} per hour (at most {limit})",
            code="quantity_exceeds_ideal_rate",
            field=field,
            extra={"max_quantity": limit},
        )
