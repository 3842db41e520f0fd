"""Routings: a product's operations in order, and who may run each at what standard.

An order copies its operations from the routing when it is made (`operations_for_order`), so
editing a routing changes future orders only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from factoryos.errors import NotFound, ValidationFailed
from factoryos.orders.product_models import (
    MAX_CYCLE_SECONDS,
    MAX_OPERATIONS,
    MAX_PARTS_PER_CYCLE,
    MAX_RESOURCES,
    MAX_SEQ,
    MAX_SETUP_SECONDS,
    RoutingIn,
    RoutingOperationOut,
    RoutingOut,
    RoutingResourceOut,
)
from factoryos.orders.products import Products
from factoryos.schema.orders import products, routing_operations, routing_resources
from factoryos.schema.plant import lines, machines

DEFAULT_SEQ = 10
DEFAULT_NAME = "Production"


def decimal_text(value: Decimal) -> str:
    """Fixed-point text without trailing zeros: Decimal("10.500000") -> "10.5"."""
    return format(Decimal(value).normalize(), "f")


def _default(quantity: int, machine_id: UUID | None) -> list[dict[str, Any]]:
    """No product or no routing: one operation any machine runs at its own ideal cycle."""
    return [{"seq": DEFAULT_SEQ, "name": DEFAULT_NAME, "routing_operation_id": None, "quantity": quantity,
             "setup_seconds": Decimal(0), "allowed": [], "machine_id": machine_id}]


def _active_machines(conn: Connection, tenant_id: UUID, resources: list[Any]) -> dict[Any, list[UUID]]:
    """Per machine id or line id named by the resources: its active machines (a line's by code)."""
    machine_ids = {r["machine_id"] for r in resources if r["machine_id"] is not None}
    line_ids = {r["line_id"] for r in resources if r["line_id"] is not None}
    stmt = (select(machines.c.id, machines.c.line_id)
            .where(machines.c.tenant_id == tenant_id, machines.c.status == "active",
                   or_(machines.c.id.in_(machine_ids), machines.c.line_id.in_(line_ids)))
            .order_by(machines.c.code, machines.c.id))
    out: dict[Any, list[UUID]] = {}
    for row in conn.execute(stmt):
        if row.id in machine_ids:
            out[row.id] = [row.id]
        if row.line_id in line_ids:
            out.setdefault(row.line_id, []).append(row.id)
    return out


def operations_for_order(conn: Connection, tenant_id: UUID, product_id: UUID | None, quantity: int,
                         machine_id: UUID | None) -> list[dict[str, Any]]:
    """The operations a new order of `quantity` gets, frozen from its product's routing.

    Each: seq, name, routing_operation_id, quantity, setup_seconds (Decimal), allowed
    ([{"machine_id", "cycle_seconds", "parts_per_cycle"}], a line expanded to its active
    machines; a machine named itself wins over the same machine through its line) and machine_id
    (the only allowed machine, else `machine_id` when allowed, else None).
    """
    if product_id is None:
        return _default(quantity, machine_id)
    product = conn.execute(select(products.c.number).where(
        products.c.tenant_id == tenant_id, products.c.id == product_id)).first()
    if product is None:
        raise NotFound(f"product {product_id} not found", code="product_not_found", field="product_id")
    ops = list(conn.execute(
        select(routing_operations)
        .where(routing_operations.c.tenant_id == tenant_id, routing_operations.c.product_id == product_id)
        .order_by(routing_operations.c.seq)).mappings())
    if not ops:
        return _default(quantity, machine_id)
    resources = list(conn.execute(
        select(routing_resources)
        .where(routing_resources.c.tenant_id == tenant_id,
               routing_resources.c.operation_id.in_([op["id"] for op in ops]))
        .order_by(routing_resources.c.id)).mappings())
    # Machines named directly first, so that they keep their own standard over their line's.
    resources.sort(key=lambda r: r["machine_id"] is None)
    active = _active_machines(conn, tenant_id, resources)
    out = []
    for op in ops:
        allowed: dict[UUID, dict[str, Any]] = {}
        for res in (r for r in resources if r["operation_id"] == op["id"]):
            ids = active.get(res["machine_id"] or res["line_id"], [])  # retired machines run nothing new
            for mid in ids:
                allowed.setdefault(mid, {"machine_id": str(mid), "cycle_seconds": decimal_text(res["cycle_seconds"]),
                                         "parts_per_cycle": int(res["parts_per_cycle"])})
        if not allowed:
            # An empty list would mean "any machine": refuse rather than widen the routing.
            raise ValidationFailed(
                f"operation {op['seq']} {op['name']!r} of product {product.number} has no active machine to run it",
                code="routing_without_machine", field="product_id")
        only = next(iter(allowed)) if len(allowed) == 1 else None
        chosen = only or (machine_id if machine_id in allowed else None)
        out.append({"seq": op["seq"], "name": op["name"], "routing_operation_id": op["id"], "quantity": quantity,
                    "setup_seconds": Decimal(op["setup_seconds"]), "allowed": list(allowed.values()),
                    "machine_id": chosen})
    return out


# -- reading and replacing a product's routing -------------------------------------------------

_CYCLE_QUANTUM = Decimal("0.000001")  # routing_resources.cycle_seconds is numeric(14, 6)
_SETUP_QUANTUM = Decimal("0.001")


class RoutingErrors:
    """Every problem of a routing body, each naming its field; raised as one 422 (the first leads)."""

    def __init__(self) -> None:
        self.items: list[ValidationFailed] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.items.append(ValidationFailed(message, code=code, field=field))

    def raise_any(self) -> None:
        if self.items:
            first = self.items[0]
            listed = [{"field": e.field, "code": e.code, "message": e.detail} for e in self.items]
            raise ValidationFailed(f"{first.field}: {first.detail}", code=first.code, field=first.field,
                                   extra={"errors": listed})


def standard_cycle(cycle: Decimal | None, rate: Decimal | None, parts: int) -> tuple[Decimal | None, str | None]:
    """The stored cycle (s, 6 decimals) from a cycle or a rate of parts per hour, or why not."""
    if (cycle is None) == (rate is None):
        return None, "give one of cycle_seconds or rate_per_hour"
    if rate is not None:
        if not rate.is_finite() or rate <= 0:
            return None, "rate_per_hour must be above 0"
        cycle = Decimal(3600) * parts / rate
    assert cycle is not None
    if not cycle.is_finite() or cycle <= 0:
        return None, "cycle_seconds must be above 0"
    if cycle > MAX_CYCLE_SECONDS:
        return None, f"the cycle is longer than 24 h ({MAX_CYCLE_SECONDS} s)"
    cycle = cycle.quantize(_CYCLE_QUANTUM)
    if cycle <= 0:
        return None, "the cycle is shorter than a microsecond"
    return cycle, None


def checked_setup(value: Decimal) -> tuple[Decimal | None, str | None]:
    if not value.is_finite() or value < 0:
        return None, "setup_seconds must be 0 or more"
    if value > MAX_SETUP_SECONDS:
        return None, f"setup_seconds is longer than {MAX_SETUP_SECONDS // 86400} days"
    return value.quantize(_SETUP_QUANTUM), None


def _machines_and_lines(conn: Connection, tenant_id: UUID, body: RoutingIn) -> tuple[dict[UUID, Any], dict[UUID, Any]]:
    machine_ids = {r.machine_id for op in body.operations for r in op.resources if r.machine_id}
    line_ids = {r.line_id for op in body.operations for r in op.resources if r.line_id}
    found_machines: dict[UUID, Any] = {}
    found_lines: dict[UUID, Any] = {}
    if machine_ids:
        stmt = select(machines.c.id, machines.c.code, machines.c.status).where(
            machines.c.tenant_id == tenant_id, machines.c.id.in_(machine_ids))
        found_machines = {r.id: r for r in conn.execute(stmt)}
    if line_ids:
        stmt = select(lines.c.id, lines.c.code).where(lines.c.tenant_id == tenant_id, lines.c.id.in_(line_ids))
        found_lines = {r.id: r for r in conn.execute(stmt)}
    return found_machines, found_lines


def check_routing(conn: Connection, tenant_id: UUID, body: RoutingIn) -> list[dict[str, Any]]:
    """The routing as rows to store ({seq, name, setup_seconds, resources: [...]}), or a 422 naming the field."""
    errors = RoutingErrors()
    if len(body.operations) > MAX_OPERATIONS:
        errors.add("operations", "too_many_operations", f"a routing has at most {MAX_OPERATIONS} operations")
        errors.raise_any()
    found_machines, found_lines = _machines_and_lines(conn, tenant_id, body)
    seen_seq: dict[int, int] = {}
    out: list[dict[str, Any]] = []
    for i, op in enumerate(body.operations):
        at = f"operations[{i}]"
        if not 0 < op.seq <= MAX_SEQ:
            errors.add(f"{at}.seq", "invalid_seq", f"seq must be 1 to {MAX_SEQ}")
        elif op.seq in seen_seq:
            errors.add(f"{at}.seq", "duplicate_seq", f"seq {op.seq} is also operations[{seen_seq[op.seq]}]")
        else:
            seen_seq[op.seq] = i
        name = op.name.strip()
        if not 0 < len(name) <= 120:
            errors.add(f"{at}.name", "invalid_name", "name must be 1 to 120 characters")
        setup, why = checked_setup(op.setup_seconds)
        if why:
            errors.add(f"{at}.setup_seconds", "invalid_setup_time", why)
        if not op.resources:
            errors.add(f"{at}.resources", "required", "name at least one machine or line that runs it")
        elif len(op.resources) > MAX_RESOURCES:
            errors.add(f"{at}.resources", "too_many_resources", f"an operation has at most {MAX_RESOURCES} resources")
        resources = []
        targets: set[UUID] = set()
        for j, res in enumerate(op.resources):
            rat = f"{at}.resources[{j}]"
            if (res.machine_id is None) == (res.line_id is None):
                errors.add(f"{rat}.machine_id", "invalid_resource", "give one of machine_id or line_id")
            elif res.machine_id is not None:
                machine = found_machines.get(res.machine_id)
                if machine is None:
                    errors.add(f"{rat}.machine_id", "machine_not_found", f"machine {res.machine_id} not found")
                elif machine.status != "active":
                    errors.add(f"{rat}.machine_id", "machine_retired", f"machine {machine.code} is retired")
            elif res.line_id not in found_lines:
                errors.add(f"{rat}.line_id", "line_not_found", f"line {res.line_id} not found")
            target = res.machine_id or res.line_id
            if target is not None and target in targets:
                errors.add(f"{rat}.{'machine_id' if res.machine_id else 'line_id'}", "duplicate_resource",
                           "this machine or line is already named for the operation")
            if target is not None:
                targets.add(target)
            if not 0 < res.parts_per_cycle <= MAX_PARTS_PER_CYCLE:
                errors.add(f"{rat}.parts_per_cycle", "invalid_parts_per_cycle",
                           f"parts_per_cycle must be 1 to {MAX_PARTS_PER_CYCLE}")
                continue
            cycle, why = standard_cycle(res.cycle_seconds, res.rate_per_hour, res.parts_per_cycle)
            if why:
                errors.add(f"{rat}.{'rate_per_hour' if res.rate_per_hour is not None else 'cycle_seconds'}",
                           "invalid_cycle_time", why)
            resources.append({"machine_id": res.machine_id, "line_id": res.line_id, "cycle_seconds": cycle,
                              "parts_per_cycle": res.parts_per_cycle})
        out.append({"seq": op.seq, "name": name, "setup_seconds": setup, "resources": resources})
    errors.raise_any()
    return out


def get_routing(conn: Connection, tenant_id: UUID, product_id: UUID) -> RoutingOut:
    product = conn.execute(select(products.c.number).where(
        products.c.tenant_id == tenant_id, products.c.id == product_id)).first()
    if product is None:
        raise NotFound(f"product {product_id} not found", code="product_not_found")
    ops = list(conn.execute(
        select(routing_operations)
        .where(routing_operations.c.tenant_id == tenant_id, routing_operations.c.product_id == product_id)
        .order_by(routing_operations.c.seq)).mappings())
    resources: list[Any] = []
    if ops:
        stmt = (select(routing_resources, machines.c.code.label("machine_code"), lines.c.code.label("line_code"))
                .select_from(routing_resources
                             .outerjoin(machines, and_(machines.c.tenant_id == routing_resources.c.tenant_id,
                                                       machines.c.id == routing_resources.c.machine_id))
                             .outerjoin(lines, and_(lines.c.tenant_id == routing_resources.c.tenant_id,
                                                    lines.c.id == routing_resources.c.line_id)))
                .where(routing_resources.c.tenant_id == tenant_id,
                       routing_resources.c.operation_id.in_([op["id"] for op in ops]))
                .order_by(func.coalesce(machines.c.code, lines.c.code), routing_resources.c.id))
        resources = list(conn.execute(stmt).mappings())
    return RoutingOut(product_id=product_id, product_number=product.number, operations=[
        RoutingOperationOut(id=op["id"], seq=op["seq"], name=op["name"], setup_seconds=float(op["setup_seconds"]),
                            resources=[_resource_out(r) for r in resources if r["operation_id"] == op["id"]])
        for op in ops])


def _resource_out(r: Any) -> RoutingResourceOut:
    cycle = Decimal(r["cycle_seconds"])
    return RoutingResourceOut(id=r["id"], machine_id=r["machine_id"], machine_code=r["machine_code"],
                              line_id=r["line_id"], line_code=r["line_code"], cycle_seconds=float(cycle),
                              rate_per_hour=float(Decimal(3600) * r["parts_per_cycle"] / cycle),
                              parts_per_cycle=r["parts_per_cycle"])


def store_routing(conn: Connection, tenant_id: UUID, product_id: UUID, operations: list[dict[str, Any]]) -> None:
    """Replace the product's routing by these checked operations (orders made before keep theirs)."""
    conn.execute(delete(routing_operations).where(routing_operations.c.tenant_id == tenant_id,
                                                  routing_operations.c.product_id == product_id))
    if not operations:
        return
    ids = conn.execute(insert(routing_operations).returning(routing_operations.c.id, sort_by_parameter_order=True), [
        {"tenant_id": tenant_id, "product_id": product_id, "seq": op["seq"], "name": op["name"],
         "setup_seconds": op["setup_seconds"]} for op in operations]).scalars().all()
    rows = [{"tenant_id": tenant_id, "operation_id": op_id, **res}
            for op_id, op in zip(ids, operations, strict=True) for res in op["resources"]]
    if rows:
        conn.execute(insert(routing_resources), rows)
    conn.execute(update(products).where(products.c.tenant_id == tenant_id, products.c.id == product_id)
                 .values(updated_at=func.now()))


def replace_routing(conn: Connection, tenant_id: UUID, product_id: UUID,
                    body: RoutingIn) -> tuple[RoutingOut, RoutingOut]:
    """Check, then replace the whole routing; (before, after)."""
    Products(conn, tenant_id).require(product_id, for_update=True)
    before = get_routing(conn, tenant_id, product_id)
    store_routing(conn, tenant_id, product_id, check_routing(conn, tenant_id, body))
    return before, get_routing(conn, tenant_id, product_id)
