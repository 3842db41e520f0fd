"""Who ran a machine in a shift, for grouping production by operator.

A machine-shift belongs to one operator of record, so operator rows add up to the site's
figures instead of counting a shared shift twice: the operator who booked most parts on
it (good and rejected), else the first operator the plan names. Machine-counted shifts
without either stay unassigned.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import Connection, select, text

from factoryos.schema.identity import users
from factoryos.schema.production import production_plans as pp

UNASSIGNED = "Unassigned"

# Most parts wins; ties go to the lowest id so the choice is stable between runs.
_BOOKED = text("""
select distinct on (machine_id, shift_instance_id) machine_id, shift_instance_id, operator_id
from (
  select machine_id, shift_instance_id, operator_id, good_quantity as quantity
  from production_entries where tenant_id = :tenant and shift_instance_id = any(cast(:instances as uuid[]))
  union all
  select machine_id, shift_instance_id, operator_id, quantity
  from rejection_entries where tenant_id = :tenant and shift_instance_id = any(cast(:instances as uuid[]))
) booked
group by machine_id, shift_instance_id, operator_id
order by machine_id, shift_instance_id, sum(quantity) desc, operator_id
""")


def operators_of_record(
    conn: Connection, tenant_id: UUID, instance_ids: Iterable[UUID | None]
) -> dict[tuple[UUID, UUID], UUID]:
    """(machine id, shift instance id) → the operator the machine-shift counts for."""
    ids = list({i for i in instance_ids if i is not None})
    if not ids:
        return {}
    chosen: dict[tuple[UUID, UUID], UUID] = {
        (machine_id, instance_id): operator_id
        for machine_id, instance_id, operator_id in conn.execute(_BOOKED, {"tenant": tenant_id, "instances": ids})
    }
    plans = conn.execute(select(pp.c.machine_id, pp.c.shift_instance_id, pp.c.operator_ids).where(
        pp.c.tenant_id == tenant_id, pp.c.shift_instance_id.in_(ids)))
    for machine_id, instance_id, operator_ids in plans:
        if operator_ids and (machine_id, instance_id) not in chosen:
            chosen[(machine_id, instance_id)] = operator_ids[0]
    return chosen


def user_names(conn: Connection, user_ids: Iterable[UUID]) -> dict[UUID, str]:
    """Display names (the email where none is set) of accounts, members or former members."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = conn.execute(select(users.c.id, users.c.display_name, users.c.email).where(users.c.id.in_(ids)))
    return {user_id: name or email for user_id, name, email in rows}
