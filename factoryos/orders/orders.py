"""Manufacturing orders (the `jobs` rows): create with their operations, read, list, edit, delete.

An order gets its operations from its product's routing when it is created; editing a routing
later changes new orders only. What an order has produced is what its operations' runs and
entries counted (factoryos/orders/progress.py): an order that produced anything keeps its
number, never shrinks below what was made, and is cancelled rather than deleted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, delete, exists, func, insert, or_, select, update

from factoryos.db.constraints import constraint_errors
from factoryos.db.repository import TenantRepository
from factoryos.errors import Conflict, NotFound, ValidationFailed
from factoryos.jobs.store import due_page, insert_operations, jobs_out, text_match
from factoryos.listing import like_pattern
from factoryos.orders.order_models import (
    AllowedMachine,
    OperationOut,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    OrderQuery,
    OrderSummary,
)
from factoryos.orders.order_status import lock_order, require_open
from factoryos.orders.products import Products, product_by_number
from factoryos.orders.progress import operation_counts
from factoryos.orders.routings import decimal_text, operations_for_order
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import operation_runs, order_confirmations, order_operations, products
from factoryos.schema.plant import machines, sites
from factoryos.schema.production import production_entries, rejection_entries

NOT_STARTED = ("planned", "released")


class Orders(TenantRepository[RowMapping]):
    table = jobs
    entity = "order"


def _taken(number: str) -> Conflict:
    return Conflict(f"order {number} already exists", code="job_exists", field="job_number")


# -- references in a request ---------------------------------------------------------------


def _product(conn: Connection, tenant_id: UUID, body: OrderIn) -> RowMapping | None:
    if body.product_id is not None and body.product_number is not None:
        raise ValidationFailed("give product_id or product_number, not both", field="product_number")
    if body.product_id is not None:
        row = Products(conn, tenant_id).get(body.product_id)
        if row is None:
            raise ValidationFailed(f"no product {body.product_id} in this company", code="unknown_product",
                                   field="product_id")
    elif body.product_number is not None:
        row = product_by_number(conn, tenant_id, body.product_number)
        if row is None:
            raise ValidationFailed(f"no product with number {body.product_number!r} in this company",
                                   code="unknown_product", field="product_number")
    else:
        return None
    if row["status"] != "active":
        raise ValidationFailed(f"product {row['number']} is {row['status']}: no new orders for it",
                               code="product_obsolete", field="product_id" if body.product_id else "product_number")
    return row


def _place(conn: Connection, tenant_id: UUID, site_id: UUID | None, machine_id: UUID | None) -> UUID | None:
    """Check the site and machine exist (the machine active, at that site); the site, from the machine if unsaid."""
    if site_id is not None:
        found = conn.execute(select(sites.c.id).where(sites.c.tenant_id == tenant_id, sites.c.id == site_id)).first()
        if found is None:
            raise ValidationFailed(f"no site {site_id} in this company", code="unknown_site", field="site_id")
    if machine_id is None:
        return site_id
    machine = conn.execute(select(machines.c.code, machines.c.site_id, machines.c.status).where(
        machines.c.tenant_id == tenant_id, machines.c.id == machine_id)).first()
    if machine is None:
        raise ValidationFailed(f"no machine {machine_id} in this company", code="unknown_machine", field="machine_id")
    if machine.status != "active":
        raise ValidationFailed(f"machine {machine.code} is retired", code="machine_retired", field="machine_id")
    if site_id is not None and machine.site_id != site_id:
        raise ValidationFailed(f"machine {machine.code} is not at that site", code="machine_other_site",
                               field="machine_id")
    return site_id if site_id is not None else machine.site_id


def _one_site(conn: Connection, tenant_id: UUID, machine_ids: set[UUID]) -> UUID | None:
    """The site of the operations' machines when they all stand at one."""
    if not machine_ids:
        return None
    found = set(conn.execute(select(machines.c.site_id).where(
        machines.c.tenant_id == tenant_id, machines.c.id.in_(machine_ids))).scalars())
    return found.pop() if len(found) == 1 else None


# -- create ------------------------------------------------------------------------------------


def create_order(conn: Connection, tenant_id: UUID, user_id: UUID | None, body: OrderIn) -> UUID:
    """Create the order and its operations (from the product's routing, else one any machine runs)."""
    product = _product(conn, tenant_id, body)
    text = body.product or (product["number"] if product is not None else None)
    if text is None:
        raise ValidationFailed("name the product: product_id, product_number, or product (free text)",
                               code="required", field="product")
    site_id = _place(conn, tenant_id, body.site_id, body.machine_id)
    product_id = product["id"] if product is not None else None
    operations = operations_for_order(conn, tenant_id, product_id, body.quantity, body.machine_id)
    if site_id is None:
        site_id = _one_site(conn, tenant_id, {op["machine_id"] for op in operations if op["machine_id"]})
    values = {"tenant_id": tenant_id, "job_number": body.job_number, "product": text, "product_id": product_id,
              "quantity": body.quantity, "due_date": body.due_date, "customer": body.customer or None,
              "site_id": site_id, "machine_id": body.machine_id, "status": body.status,
              "notes": body.notes or None, "created_by": user_id}
    with constraint_errors(conn, {"uq_jobs_tenant_job_number": _taken(body.job_number)}):
        job_id = conn.execute(insert(jobs).values(**values).returning(jobs.c.id)).scalar_one()
    insert_operations(conn, tenant_id, [{**op, "job_id": job_id, "status": body.status} for op in operations])
    return job_id


# -- read ----------------------------------------------------------------------------------


def _products_of(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> dict[UUID, RowMapping]:
    ids = {r["product_id"] for r in rows if r["product_id"]}
    if not ids:
        return {}
    stmt = select(products.c.id, products.c.number, products.c.name).where(
        products.c.tenant_id == tenant_id, products.c.id.in_(ids))
    return {r["id"]: r for r in conn.execute(stmt).mappings()}


def _running_on(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> dict[UUID, list[str]]:
    """Each order's machines with an open run, in the order of the operations running there (an
    order of several operations has no machine of its own: where it runs is what a list shows)."""
    if not rows:
        return {}
    stmt = (select(order_operations.c.job_id, machines.c.code)
            .select_from(operation_runs
                         .join(order_operations, (order_operations.c.tenant_id == operation_runs.c.tenant_id)
                               & (order_operations.c.id == operation_runs.c.operation_id))
                         .join(machines, (machines.c.tenant_id == operation_runs.c.tenant_id)
                               & (machines.c.id == operation_runs.c.machine_id)))
            .where(operation_runs.c.tenant_id == tenant_id, operation_runs.c.ended_at.is_(None),
                   order_operations.c.job_id.in_([r["id"] for r in rows]))
            .order_by(order_operations.c.job_id, order_operations.c.seq))
    out: dict[UUID, list[str]] = {}
    for job_id, code in conn.execute(stmt):
        out.setdefault(job_id, []).append(code)
    return out


def summaries(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> list[OrderSummary]:
    named = _products_of(conn, tenant_id, rows)
    running = _running_on(conn, tenant_id, rows)
    out = []
    for row, job in zip(rows, jobs_out(conn, tenant_id, rows), strict=True):
        product = named.get(row["product_id"])
        out.append(OrderSummary(**job.model_dump(), product_number=product["number"] if product else None,
                                product_name=product["name"] if product else None, updated_at=row["updated_at"],
                                running_on=running.get(row["id"], [])))
    return out


def _machine_codes(conn: Connection, tenant_id: UUID, ids: set[Any]) -> dict[UUID, str]:
    if not ids:
        return {}
    stmt = select(machines.c.id, machines.c.code).where(machines.c.tenant_id == tenant_id,
                                                        machines.c.id.in_({UUID(str(i)) for i in ids}))
    return {r.id: r.code for r in conn.execute(stmt)}


def operations_of(conn: Connection, tenant_id: UUID, job_id: UUID) -> list[OperationOut]:
    rows = list(conn.execute(select(order_operations).where(
        order_operations.c.tenant_id == tenant_id, order_operations.c.job_id == job_id)
        .order_by(order_operations.c.seq)).mappings())
    counts = operation_counts(conn, tenant_id, [r["id"] for r in rows])
    ids = {r["machine_id"] for r in rows if r["machine_id"]} | {a["machine_id"] for r in rows for a in r["allowed"]}
    codes = _machine_codes(conn, tenant_id, ids)
    out = []
    for r in rows:
        good, scrap = counts.get(r["id"], (0, 0))
        allowed = [AllowedMachine(machine_id=a["machine_id"], machine_code=codes.get(UUID(a["machine_id"])),
                                  cycle_seconds=a["cycle_seconds"], parts_per_cycle=a["parts_per_cycle"])
                   for a in r["allowed"]]
        out.append(OperationOut(
            id=r["id"], seq=r["seq"], name=r["name"], routing_operation_id=r["routing_operation_id"],
            quantity=r["quantity"], setup_seconds=Decimal(decimal_text(r["setup_seconds"])), allowed=allowed,
            status=r["status"],
            machine_id=r["machine_id"], machine_code=codes.get(r["machine_id"]), queue_position=r["queue_position"],
            good=good, scrap=scrap, final_good=r["final_good"], final_scrap=r["final_scrap"]))
    return out


def order_out(conn: Connection, tenant_id: UUID, row: RowMapping) -> OrderOut:
    operations = operations_of(conn, tenant_id, row["id"])
    summary = summaries(conn, tenant_id, [row])[0]
    return OrderOut(**summary.model_dump(), operations=operations,
                    good=operations[-1].good if operations else 0, scrap=sum(o.scrap for o in operations))


def get_order(conn: Connection, tenant_id: UUID, order_id: UUID) -> OrderOut:
    return order_out(conn, tenant_id, Orders(conn, tenant_id).require(order_id))


def order_by_number(conn: Connection, tenant_id: UUID, number: str) -> RowMapping:
    row = conn.execute(select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.job_number == number.strip())
                       ).mappings().first()
    if row is None:
        raise NotFound(f"order {number} not found", code="order_not_found", field="job_number")
    return row


def list_orders(conn: Connection, tenant_id: UUID, query: OrderQuery) -> OrderPage:
    """Orders due first come first; `q` searches number, product text, product number and customer."""
    where: list[Any] = [jobs.c.tenant_id == tenant_id]
    if query.number is not None:
        where.append(jobs.c.job_number == query.number.strip())
    for name in ("status", "site_id", "product_id"):
        if getattr(query, name) is not None:
            where.append(jobs.c[name] == getattr(query, name))
    if query.machine_id is not None:
        on_machine = exists().where(order_operations.c.tenant_id == jobs.c.tenant_id,
                                    order_operations.c.job_id == jobs.c.id,
                                    order_operations.c.machine_id == query.machine_id)
        where.append(or_(jobs.c.machine_id == query.machine_id, on_machine))
    if query.q:
        pattern = like_pattern(query.q)
        by_product = exists().where(products.c.tenant_id == jobs.c.tenant_id, products.c.id == jobs.c.product_id,
                                    or_(products.c.number.ilike(pattern, escape="\\"),
                                        products.c.name.ilike(pattern, escape="\\")))
        where.append(or_(text_match(pattern), by_product))
    rows, cursor = due_page(conn, where, query.cursor, query.limit)
    return OrderPage(items=summaries(conn, tenant_id, rows), next_cursor=cursor)


# -- production so far -------------------------------------------------------------------------


def _operation_ids(conn: Connection, tenant_id: UUID, job_id: UUID) -> list[UUID]:
    return list(conn.execute(select(order_operations.c.id).where(
        order_operations.c.tenant_id == tenant_id, order_operations.c.job_id == job_id)).scalars())


def has_production(conn: Connection, tenant_id: UUID, job_id: UUID) -> bool:
    """Anything ran or was booked for the order: a run (its setup too), an entry, a rejection."""
    ids = _operation_ids(conn, tenant_id, job_id)
    if not ids:
        return False
    for table in (operation_runs, production_entries, rejection_entries):
        stmt = select(table.c.operation_id).where(table.c.tenant_id == tenant_id,
                                                  table.c.operation_id.in_(ids)).limit(1)
        if conn.execute(stmt).first() is not None:
            return True
    stmt = select(order_confirmations.c.id).where(order_confirmations.c.tenant_id == tenant_id,
                                                  order_confirmations.c.job_id == job_id).limit(1)
    return conn.execute(stmt).first() is not None


def produced(conn: Connection, tenant_id: UUID, job_id: UUID) -> int:
    """The most good parts any of its operations made (an order cannot ask for fewer)."""
    counts = operation_counts(conn, tenant_id, _operation_ids(conn, tenant_id, job_id))
    return max((good for good, _ in counts.values()), default=0)


# -- edit, delete --------------------------------------------------------------------------


def _snapshot(row: RowMapping) -> dict[str, Any]:
    keep = ("job_number", "product", "product_id", "quantity", "due_date", "customer", "site_id", "machine_id",
            "status", "notes")
    return {k: (str(row[k]) if row[k] is not None and k in ("product_id", "site_id", "machine_id", "due_date")
                else row[k]) for k in keep}


def update_order(conn: Connection, tenant_id: UUID, order_id: UUID, patch: OrderPatch) -> tuple[dict, dict]:
    """Apply the fields sent; (before, after) as audit snapshots."""
    repo = Orders(conn, tenant_id)
    row = lock_order(conn, tenant_id, order_id)
    require_open(row)
    sent = patch.model_fields_set - {"reason"}
    values: dict[str, Any] = {k: getattr(patch, k) for k in sent}
    for required in ("job_number", "product", "quantity", "due_date"):
        if required in values and values[required] is None:
            raise ValidationFailed(f"{required} cannot be cleared", code="null_not_allowed", field=required)
    for optional in ("customer", "notes"):
        if optional in values:
            values[optional] = values[optional] or None
    values = {k: v for k, v in values.items() if v != row[k]}
    if not values:
        return _snapshot(row), _snapshot(row)
    if "job_number" in values and has_production(conn, tenant_id, order_id):
        raise Conflict(f"order {row['job_number']} has production: its number no longer changes",
                       code="order_has_production", field="job_number")
    if "quantity" in values:
        made = produced(conn, tenant_id, order_id)
        if values["quantity"] < made:
            raise ValidationFailed(f"order {row['job_number']} already made {made} good parts: the quantity "
                                   f"cannot be less", code="quantity_below_produced", field="quantity",
                                   extra={"produced": made})
    if "site_id" in values or "machine_id" in values:
        site_id = values.get("site_id", row["site_id"])
        machine_id = values.get("machine_id", row["machine_id"])
        # A new machine elsewhere moves the order's site with it, unless the site was sent too.
        placed = _place(conn, tenant_id, site_id if "site_id" in values else None, machine_id)
        if "site_id" not in values and machine_id is not None:
            values["site_id"] = placed
    with constraint_errors(conn, {"uq_jobs_tenant_job_number": _taken(str(values.get("job_number")))}):
        after = repo.update(order_id, **values, updated_at=func.now())
    assert after is not None
    if "quantity" in values:
        conn.execute(update(order_operations)
                     .where(order_operations.c.tenant_id == tenant_id, order_operations.c.job_id == order_id)
                     .values(quantity=values["quantity"], updated_at=func.now()))
    if "machine_id" in values and values["machine_id"] is not None:
        _move_operations(conn, tenant_id, order_id, values["machine_id"])
    return _snapshot(row), _snapshot(after)


def _move_operations(conn: Connection, tenant_id: UUID, order_id: UUID, machine_id: UUID) -> None:
    """Operations not started that may run on the order's new machine go there (off their old queue)."""
    rows = conn.execute(select(order_operations.c.id, order_operations.c.allowed, order_operations.c.machine_id)
                        .where(order_operations.c.tenant_id == tenant_id, order_operations.c.job_id == order_id,
                               order_operations.c.status.in_(NOT_STARTED))).mappings()
    moved = [r["id"] for r in rows if r["machine_id"] != machine_id
             and (not r["allowed"] or str(machine_id) in {a["machine_id"] for a in r["allowed"]})]
    if moved:
        conn.execute(update(order_operations)
                     .where(order_operations.c.tenant_id == tenant_id, order_operations.c.id.in_(moved))
                     .values(machine_id=machine_id, queue_position=None, updated_at=func.now()))


def delete_order(conn: Connection, tenant_id: UUID, order_id: UUID) -> dict[str, Any]:
    """Delete an order nothing was produced for (its operations go with it); the snapshot for the audit."""
    row = lock_order(conn, tenant_id, order_id)
    if has_production(conn, tenant_id, order_id):
        raise Conflict(f"order {row['job_number']} has production: cancel it instead",
                       code="order_has_production", field="id")
    conn.execute(delete(order_operations).where(order_operations.c.tenant_id == tenant_id,
                                                order_operations.c.job_id == order_id))
    Orders(conn, tenant_id).delete(order_id)
    return _snapshot(row)
