"""Products: what a company makes, one number per company (`active` or `obsolete`)."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, tuple_

from factoryos.db.constraints import constraint_errors
from factoryos.db.repository import MAX_LIMIT, TenantRepository
from factoryos.errors import Conflict, ValidationFailed
from factoryos.listing import like_pattern
from factoryos.orders.product_models import ProductIn, ProductOut, ProductPage, ProductPatch, ProductQuery
from factoryos.patching import changes
from factoryos.schema.jobs import jobs
from factoryos.schema.orders import products, routing_operations


class Products(TenantRepository[RowMapping]):
    table = products
    entity = "product"


def product_by_number(conn: Connection, tenant_id: UUID, number: str) -> RowMapping | None:
    """The product with this number (as stored: numbers are matched exactly, trimmed)."""
    stmt = select(products).where(products.c.tenant_id == tenant_id, products.c.number == number.strip())
    return conn.execute(stmt).mappings().first()


def _number_taken(number: str) -> Conflict:
    return Conflict(f"a product with number {number!r} already exists", code="product_number_taken", field="number")


def products_out(conn: Connection, tenant_id: UUID, rows: list[RowMapping]) -> list[ProductOut]:
    counts: dict[UUID, int] = {}
    if rows:
        stmt = (select(routing_operations.c.product_id, func.count())
                .where(routing_operations.c.tenant_id == tenant_id,
                       routing_operations.c.product_id.in_([r["id"] for r in rows]))
                .group_by(routing_operations.c.product_id))
        counts = {row[0]: int(row[1]) for row in conn.execute(stmt)}
    fields = ("id", "number", "name", "unit", "status", "created_at", "updated_at")
    return [ProductOut(**{k: r[k] for k in fields}, operation_count=counts.get(r["id"], 0)) for r in rows]


def product_out(conn: Connection, tenant_id: UUID, row: RowMapping) -> ProductOut:
    return products_out(conn, tenant_id, [row])[0]


def _encode(row: RowMapping) -> str:
    raw = json.dumps([row["number"], str(row["id"])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, UUID]:
    try:
        number, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(number), UUID(row_id)
    except (ValueError, TypeError):
        raise ValidationFailed("invalid pagination cursor", code="invalid_cursor", field="cursor") from None


def list_products(conn: Connection, tenant_id: UUID, query: ProductQuery) -> ProductPage:
    """Products by number (keyset on number, id); `q` searches number and name."""
    where: list[Any] = [products.c.tenant_id == tenant_id]
    if query.status is not None:
        where.append(products.c.status == query.status)
    if query.q:
        pattern = like_pattern(query.q)
        where.append(or_(products.c.number.ilike(pattern, escape="\\"), products.c.name.ilike(pattern, escape="\\")))
    if query.cursor:
        where.append(tuple_(products.c.number, products.c.id) > tuple_(*_decode(query.cursor)))
    limit = max(1, min(query.limit, MAX_LIMIT))
    stmt = select(products).where(and_(*where)).order_by(products.c.number, products.c.id).limit(limit + 1)
    rows = list(conn.execute(stmt).mappings())
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        cursor = _encode(rows[-1])
    return ProductPage(items=products_out(conn, tenant_id, rows), next_cursor=cursor)


def create_product(conn: Connection, tenant_id: UUID, body: ProductIn) -> RowMapping:
    with constraint_errors(conn, {"uq_products_tenant_number": _number_taken(body.number)}):
        return Products(conn, tenant_id).insert(**body.model_dump())


def update_product(conn: Connection, tenant_id: UUID, product_id: UUID,
                   patch: ProductPatch) -> tuple[RowMapping, RowMapping]:
    repo = Products(conn, tenant_id)
    before = repo.require(product_id, for_update=True)
    values = changes(patch)
    if not values:
        return before, before
    values["updated_at"] = func.now()
    with constraint_errors(conn, {"uq_products_tenant_number": _number_taken(values.get("number", ""))}):
        after = repo.update(product_id, **values)
    assert after is not None
    return before, after


def product_in_use(conn: Connection, tenant_id: UUID, product_id: UUID) -> int:
    """How many orders name the product."""
    stmt = select(func.count()).select_from(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.product_id == product_id)
    return int(conn.execute(stmt).scalar_one())


def delete_product(conn: Connection, tenant_id: UUID, product_id: UUID) -> RowMapping:
    """Remove a product no order uses (its routing goes with it); otherwise refuse: obsolete it."""
    repo = Products(conn, tenant_id)
    before = repo.require(product_id, for_update=True)
    orders = product_in_use(conn, tenant_id, product_id)
    used_by = f"{orders} orders" if orders > 1 else "an order"
    in_use = Conflict(
        f"product {before['number']} is used by {used_by}: set its status to 'obsolete' instead",
        code="product_in_use", field="product_id", extra={"orders": orders})
    if orders:
        raise in_use
    with constraint_errors(conn, {}, fallback=in_use):  # an order created meanwhile
        repo.delete(product_id)
    return before
