"""Where an NC comes from: what an out-of-spec inspection or a rejection already knows.

Opening an NC from either takes one key at the terminal, so the NC is filled from its source (machine,
product, order, how many, what is wrong); what the caller sends wins. By hand, machine, quantity and
description are required.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, select

from factoryos.errors import NotFound, ValidationFailed
from factoryos.nonconformances.nc_models import TEXT_MAX, NcIn
from factoryos.quality.inspections import get_inspection
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import order_operations
from factoryos.schema.production import loss_reasons, rejection_entries

REQUIRED_BY_HAND = ("machine_id", "quantity", "description")


def _from_inspection(conn: Connection, tenant_id: UUID, inspection_id: UUID) -> dict[str, Any]:
    try:
        found = get_inspection(conn, tenant_id, inspection_id)
    except NotFound:
        raise ValidationFailed(f"no inspection {inspection_id} in this company", code="inspection_not_found",
                               field="source_id") from None
    bad = [r for r in found.results if r.out_of_spec]
    if not bad:
        raise ValidationFailed(f"the inspection of {found.machine_code} ({found.plan_name} v{found.version}) is in "
                               "specification: open the NC by hand", code="inspection_in_spec", field="source_id")
    # Parts out of spec: the most of any one characteristic (a failed pass/fail check is one part).
    parts = max(sum(1 for v in r.values if _outside(v, r.lsl, r.usl)) if r.values else 1 for r in bad)
    words = "; ".join(f"{r.name}: {r.message or 'out of specification'}" for r in bad)
    return {"machine_id": found.machine_id, "product_id": found.product_id, "order_id": found.job_id,
            "quantity": Decimal(max(parts, 1)),
            "description": f"Inspection {found.plan_name} v{found.version}: {words}"[:TEXT_MAX]}


def _outside(value: Decimal, lsl: Decimal | None, usl: Decimal | None) -> bool:
    return (lsl is not None and value < lsl) or (usl is not None and value > usl)


def _from_rejection(conn: Connection, tenant_id: UUID, rejection_id: UUID) -> dict[str, Any]:
    row = conn.execute(
        select(rejection_entries.c.machine_id, rejection_entries.c.quantity, rejection_entries.c.note,
               loss_reasons.c.name.label("reason"), jobs.c.id.label("order_id"), jobs.c.product_id)
        .select_from(rejection_entries
                     .join(loss_reasons, and_(loss_reasons.c.tenant_id == rejection_entries.c.tenant_id,
                                              loss_reasons.c.id == rejection_entries.c.reason_id))
                     .outerjoin(order_operations, and_(order_operations.c.tenant_id == rejection_entries.c.tenant_id,
                                                       order_operations.c.id == rejection_entries.c.operation_id))
                     .outerjoin(jobs, and_(jobs.c.tenant_id == order_operations.c.tenant_id,
                                           jobs.c.id == order_operations.c.job_id)))
        .where(rejection_entries.c.tenant_id == tenant_id, rejection_entries.c.id == rejection_id)).mappings().first()
    if row is None:
        raise ValidationFailed(f"no rejection {rejection_id} in this company", code="rejection_not_found",
                               field="source_id")
    note = f" ({row['note']})" if row["note"] else ""
    return {"machine_id": row["machine_id"], "product_id": row["product_id"], "order_id": row["order_id"],
            "quantity": Decimal(row["quantity"]), "description": f"Rejected: {row['reason']}{note}"[:TEXT_MAX]}


def completed(conn: Connection, tenant_id: UUID, body: NcIn) -> NcIn:
    """The NC to open: `body` with what its source knows filled in; every required field present."""
    if body.source == "manual":
        if body.source_id is not None:
            raise ValidationFailed("an NC opened by hand has no source_id: name its source", code="validation_failed",
                                   field="source")
        known: dict[str, Any] = {}
    elif body.source_id is None:
        raise ValidationFailed(f"name the {body.source} the NC comes from", code="required", field="source_id")
    elif body.source == "inspection":
        known = _from_inspection(conn, tenant_id, body.source_id)
    else:
        known = _from_rejection(conn, tenant_id, body.source_id)
    sent = body.model_dump(exclude_unset=True, exclude_none=True)
    merged = body.model_copy(update={**{k: v for k, v in known.items() if v is not None}, **sent})
    for name in REQUIRED_BY_HAND:
        if getattr(merged, name) is None:
            raise ValidationFailed(f"{name.replace('_id', '').replace('_', ' ')} is required", code="required",
                                   field=name)
    if known and merged.machine_id != known["machine_id"]:
        raise ValidationFailed(f"the {body.source} was on another machine", code="validation_failed",
                               field="machine_id")
    return merged
