"""Products and their routings: what is made, on which machines, at what standard."""

from __future__ import annotations

from uuid import UUID

from factoryos.jobs.models import ImportLimits
from factoryos.orders import product_import, products, routings
from factoryos.orders.product_models import (
    ProductImportIn,
    ProductImportOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    ProductQuery,
    RoutingImportOut,
    RoutingIn,
    RoutingOut,
)
from server.api import Context, Router

router = Router(prefix="/api/v1/products", tags=("products",))

VIEW = "orders.view"
PLAN = "production.plan"


@router.get("", permission=VIEW, query=ProductQuery, response=ProductPage)
def list_products(ctx: Context, query: ProductQuery) -> ProductPage:
    """Products by number, filtered by status; `q` searches number and name."""
    return products.list_products(ctx.conn, ctx.tenant_id, query)


@router.post("", permission=PLAN, body=ProductIn, response=ProductOut, status_code=201)
def create_product(ctx: Context, body: ProductIn) -> ProductOut:
    """Add a product; without a routing it runs at each machine's own ideal cycle time."""
    out = products.product_out(ctx.conn, ctx.tenant_id, products.create_product(ctx.conn, ctx.tenant_id, body))
    ctx.audit("create", "product", out.id, after=out.model_dump(mode="json"))
    return out


@router.get("/{product_id:uuid}", permission=VIEW, response=ProductOut)
def get_product(ctx: Context, product_id: UUID) -> ProductOut:
    """One product."""
    return products.product_out(ctx.conn, ctx.tenant_id, products.Products(ctx.conn, ctx.tenant_id).require(product_id))


@router.patch("/{product_id:uuid}", permission=PLAN, body=ProductPatch, response=ProductOut)
def update_product(ctx: Context, product_id: UUID, body: ProductPatch) -> ProductOut:
    """Change a product; `status: obsolete` keeps it for the orders that use it."""
    before, after = products.update_product(ctx.conn, ctx.tenant_id, product_id, body)
    out = products.product_out(ctx.conn, ctx.tenant_id, after)
    if before is not after:
        ctx.audit("update", "product", product_id,
                  before=products.product_out(ctx.conn, ctx.tenant_id, before).model_dump(mode="json"),
                  after=out.model_dump(mode="json"))
    return out


@router.delete("/{product_id:uuid}", permission=PLAN, status_code=204)
def delete_product(ctx: Context, product_id: UUID) -> None:
    """Remove a product no order uses, with its routing (set it obsolete otherwise)."""
    routing = routings.get_routing(ctx.conn, ctx.tenant_id, product_id)
    before = products.delete_product(ctx.conn, ctx.tenant_id, product_id)
    ctx.audit("delete", "product", product_id, before={
        **products.product_out(ctx.conn, ctx.tenant_id, before).model_dump(mode="json", exclude={"operation_count"}),
        "routing": routing.model_dump(mode="json")["operations"]})


@router.get("/{product_id:uuid}/routing", permission=VIEW, response=RoutingOut)
def get_routing(ctx: Context, product_id: UUID) -> RoutingOut:
    """The product's routing: its operations in order, each with the machines or lines that run it."""
    return routings.get_routing(ctx.conn, ctx.tenant_id, product_id)


@router.put("/{product_id:uuid}/routing", permission=PLAN, body=RoutingIn, response=RoutingOut)
def replace_routing(ctx: Context, product_id: UUID, body: RoutingIn) -> RoutingOut:
    """Replace the whole routing; orders made before keep the standards they were made with."""
    before, after = routings.replace_routing(ctx.conn, ctx.tenant_id, product_id, body)
    ctx.audit("update", "product_routing", product_id, before=before.model_dump(mode="json"),
              after=after.model_dump(mode="json"))
    return after


@router.get("/import/limits", permission=PLAN, response=ImportLimits)
def product_import_limits(ctx: Context) -> ImportLimits:
    """How large a product file may be, and the column names it may use."""
    return product_import.import_limits(ctx.settings.max_body_bytes, routings=False)


@router.get("/routings/import/limits", permission=PLAN, response=ImportLimits)
def routing_import_limits(ctx: Context) -> ImportLimits:
    """How large a routing file may be, and the column names it may use."""
    return product_import.import_limits(ctx.settings.max_body_bytes, routings=True)


@router.post("/import", permission=PLAN, body=ProductImportIn, response=ProductImportOut, long_running=True)
def import_products(ctx: Context, body: ProductImportIn) -> ProductImportOut:
    """Preview (`dry_run`, the default) or import a CSV/XLSX file of products (new numbers are
    added, known ones updated); all or nothing unless `skip_invalid`."""
    out = product_import.import_products(ctx.conn, ctx.tenant_id, body, ctx.settings.max_body_bytes)
    if not out.dry_run:
        ctx.audit("create", "product_import", out.import_id, after={
            "file_name": out.file_name, "format": out.format, "created": out.created, "updated": out.updated,
            "skipped": out.skipped, "total_rows": out.total_rows, "product_numbers": out.product_numbers})
    return out


@router.post("/routings/import", permission=PLAN, body=ProductImportIn, response=RoutingImportOut, long_running=True)
def import_routings(ctx: Context, body: ProductImportIn) -> RoutingImportOut:
    """Preview (`dry_run`, the default) or import a CSV/XLSX file of routings: each product named
    gets the file's operations as its whole routing; all or nothing unless `skip_invalid`."""
    out = product_import.import_routings(ctx.conn, ctx.tenant_id, body, ctx.settings.max_body_bytes)
    if not out.dry_run:
        ctx.audit("create", "routing_import", out.import_id, after={
            "file_name": out.file_name, "format": out.format, "routings": out.routings, "skipped": out.skipped,
            "total_rows": out.total_rows, "product_numbers": out.product_numbers})
    return out
