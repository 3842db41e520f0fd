"""The finished lot made when an order's operation completes, in the transaction that completes it.

The server's completion routes call `lot_at_completion` right after the orders package ended the
run (orders never import materials: the call sits in the route layer, where both are visible, so
every path that completes an operation names its hook explicitly and a rollback undoes both).

A lot is made when the order's last operation completes (an earlier operation's scans go into
the same lot: the order makes one product), the order names a product, and there is something to
trace — material issued or loaded for the order, or a released BOM to backflush — and good parts
not yet in a lot. Otherwise nothing happens and nothing is refused: an order without material
completes as before. A serialized product's lot gets one serial per good part, numbered within
the lot. `POST …/operations/{id}/output` stays for partial lots and corrections.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import Connection, exists, func, or_, select

from factoryos.materials.boms import released_bom
from factoryos.materials.consumption import made_before, order_operation_ids, produce_output
from factoryos.materials.scan_models import OutputIn, OutputOut
from factoryos.orders.progress import operation_counts
from factoryos.schema.jobs import jobs
from factoryos.schema.materials import lot_loads, stock_movements
from factoryos.schema.orders import order_operations


def _is_last(conn: Connection, tenant_id: UUID, job_id: UUID, seq: int) -> bool:
    last = conn.execute(select(func.max(order_operations.c.seq)).where(
        order_operations.c.tenant_id == tenant_id, order_operations.c.job_id == job_id,
        order_operations.c.status != "cancelled")).scalar_one()
    return last is None or seq >= last


def _has_material(conn: Connection, tenant_id: UUID, operation_ids: list[UUID]) -> bool:
    return bool(conn.execute(select(or_(
        exists().where(lot_loads.c.tenant_id == tenant_id, lot_loads.c.operation_id.in_(operation_ids)),
        exists().where(stock_movements.c.tenant_id == tenant_id, stock_movements.c.operation_id.in_(operation_ids),
                       stock_movements.c.kind == "issue")))).scalar_one())


def lot_at_completion(conn: Connection, tenant_id: UUID, user_id: UUID | None, operation_id: UUID,
                      now: datetime) -> OutputOut | None:
    """The order's finished lot for the operation just completed, or None when there is none to make."""
    operation = conn.execute(select(order_operations).where(order_operations.c.tenant_id == tenant_id,
                                                            order_operations.c.id == operation_id)).mappings().first()
    if operation is None or operation["status"] != "completed" or operation["machine_id"] is None:
        return None
    order = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == operation["job_id"])
                         ).mappings().one()
    if order["product_id"] is None or not _is_last(conn, tenant_id, order["id"], operation["seq"]):
        return None
    if not _has_material(conn, tenant_id, order_operation_ids(conn, tenant_id, order["id"])) \
            and released_bom(conn, tenant_id, order["product_id"]) is None:
        return None
    good = operation_counts(conn, tenant_id, [operation_id])[operation_id][0]
    if Decimal(good) - made_before(conn, tenant_id, order["id"]) <= 0:
        return None  # nothing good left to put in a lot (all scrap, or made already by hand)
    return produce_output(conn, tenant_id, user_id, operation_id, OutputIn(), now)
