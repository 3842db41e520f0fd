"""Materials: items and units, bills of materials, locations, lots, stock movements, scanning at the machine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from factoryos.errors import PermissionDenied
from factoryos.materials import boms, consumption, items, locations, lots, stock, stock_import
from factoryos.materials.models import (
    BomIn,
    BomOut,
    ItemIn,
    ItemOut,
    ItemPage,
    ItemQuery,
    LocationIn,
    LocationOut,
    LocationQuery,
    LotIn,
    LotOut,
    LotPage,
    LotPatternIn,
    LotQuery,
    LotStatusIn,
    MovementIn,
    MovementOut,
    MovementPage,
    MovementQuery,
    SiteStockPolicyIn,
    StockPage,
    StockQuery,
    UnitsIn,
)
from factoryos.materials.scan_models import OutputIn, OutputOut, ScanIn, ScanOut
from factoryos.materials.stock_import import StockImportOut
from factoryos.orders.product_models import ProductImportIn
from server.api import Context, Router

router = Router(prefix="/api/v1/materials", tags=("materials",))

VIEW = "inventory.view"
MOVE = "inventory.move"
ADJUST = "inventory.adjust"






def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


# --- items -----------------------------------------------------------------------------------

@router.get("/items", permission=VIEW, query=ItemQuery, response=ItemPage)
def list_items(ctx: Context, query: ItemQuery) -> ItemPage:
    """Items by number; `q` searches number and name."""
    return items.list_items(ctx.conn, ctx.tenant_id, query)


@router.post("/items", permission=ADJUST, body=ItemIn, response=ItemOut, status_code=201)
def create_item(ctx: Context, body: ItemIn) -> ItemOut:
    """A material, component or product item, with the other units it is counted in."""
    out = items.create_item(ctx.conn, ctx.tenant_id, body)
    ctx.audit("create", "item", out.id, after=_json(out))
    return out


@router.get("/items/{item_id:uuid}", permission=VIEW, response=ItemOut)
def get_item(ctx: Context, item_id: UUID) -> ItemOut:
    """One item with its units."""
    return items.get_item(ctx.conn, ctx.tenant_id, item_id)


@router.put("/items/{item_id:uuid}/units", permission=ADJUST, body=UnitsIn, response=ItemOut)
def set_item_units(ctx: Context, item_id: UUID, body: UnitsIn) -> ItemOut:
    """Replace the item's unit conversions."""
    before, after = items.set_units(ctx.conn, ctx.tenant_id, item_id, body.units)
    ctx.audit("update", "item", item_id, before={"units": _json(before)["units"]}, after={"units": _json(after)["units"]})
    return after


# --- bills of materials ----------------------------------------------------------------------

@router.get("/products/{product_id:uuid}/boms", permission=VIEW, response=list[BomOut])
def list_boms(ctx: Context, product_id: UUID) -> list[BomOut]:
    """Every version of the product's bill of materials, newest first."""
    return boms.list_boms(ctx.conn, ctx.tenant_id, product_id)


@router.post("/products/{product_id:uuid}/boms", permission=ADJUST, body=BomIn, response=BomOut, status_code=201)
def create_bom(ctx: Context, product_id: UUID, body: BomIn) -> BomOut:
    """A new version as a draft (replaces the product's open draft); cycles through other products refused."""
    out = boms.create_draft(ctx.conn, ctx.tenant_id, product_id, body)
    ctx.audit("create", "bom", out.id, after=_json(out))
    return out


@router.get("/boms/{bom_id:uuid}", permission=VIEW, response=BomOut)
def get_bom(ctx: Context, bom_id: UUID) -> BomOut:
    """One version with its lines."""
    return boms.get_bom(ctx.conn, ctx.tenant_id, bom_id)


@router.post("/boms/{bom_id:uuid}/release", permission=ADJUST, response=BomOut)
def release_bom(ctx: Context, bom_id: UUID) -> BomOut:
    """Release a draft: it is in force from now and never changes; the version before becomes obsolete."""
    out, obsolete = boms.release(ctx.conn, ctx.tenant_id, bom_id, ctx.user_id, datetime.now(UTC))
    ctx.audit("update", "bom", bom_id, before={"status": "draft"},
              after={"status": "released", "version": out.version, "obsoleted": [str(i) for i in obsolete]})
    return out


@router.delete("/boms/{bom_id:uuid}", permission=ADJUST, status_code=204)
def delete_bom(ctx: Context, bom_id: UUID) -> None:
    """Delete a draft (released versions stay forever)."""
    before = boms.delete_draft(ctx.conn, ctx.tenant_id, bom_id)
    ctx.audit("delete", "bom", bom_id, before=_json(before))


# --- locations -------------------------------------------------------------------------------

@router.get("/locations", permission=VIEW, query=LocationQuery, response=list[LocationOut])
def list_locations(ctx: Context, query: LocationQuery) -> list[LocationOut]:
    """Locations of every site, or of one."""
    return locations.list_locations(ctx.conn, ctx.tenant_id, query.site_id)


@router.post("/locations", permission=ADJUST, body=LocationIn, response=LocationOut, status_code=201)
def create_location(ctx: Context, body: LocationIn) -> LocationOut:
    """A warehouse (in a site), a bin (in a warehouse) or a machine's line side."""
    out = locations.create_location(ctx.conn, ctx.tenant_id, body)
    ctx.audit("create", "location", out.id, after=_json(out))
    return out


@router.put("/sites/{site_id:uuid}/stock-policy", permission=ADJUST, body=SiteStockPolicyIn, response=LocationOut)
def set_stock_policy(ctx: Context, site_id: UUID, body: SiteStockPolicyIn) -> LocationOut:
    """Whether the site's stock may go below zero (movements that do are flagged)."""
    before, out = locations.set_negative_policy(ctx.conn, ctx.tenant_id, site_id, body.allow_negative)
    ctx.audit("update", "location", out.id, before={"allow_negative": before},
              after={"allow_negative": out.allow_negative, "site_id": str(site_id)})
    return out


# --- lots ------------------------------------------------------------------------------------

@router.get("/lots", permission=VIEW, query=LotQuery, response=LotPage)
def list_lots(ctx: Context, query: LotQuery) -> LotPage:
    """Lots, newest first, by item, status or number."""
    return lots.list_lots(ctx.conn, ctx.tenant_id, query)


@router.post("/lots", permission=MOVE, body=LotIn, response=LotOut, status_code=201)
def create_lot(ctx: Context, body: LotIn) -> LotOut:
    """A lot entered (with its supplier's lot) or numbered from the company's pattern; receive it with a movement."""
    row = lots.create_lot(ctx.conn, ctx.tenant_id, ctx.user_id, body, datetime.now(UTC))
    out = lots.get_lot(ctx.conn, ctx.tenant_id, row["id"])
    ctx.audit("create", "lot", out.id, after=_json(out))
    return out


@router.get("/lots/{lot_id:uuid}", permission=VIEW, response=LotOut)
def get_lot(ctx: Context, lot_id: UUID) -> LotOut:
    """One lot with its stock and serials."""
    return lots.get_lot(ctx.conn, ctx.tenant_id, lot_id)


@router.post("/lots/{lot_id:uuid}/status", permission=ADJUST, body=LotStatusIn, response=LotOut)
def set_lot_status(ctx: Context, lot_id: UUID, body: LotStatusIn) -> LotOut:
    """Set a lot available, in quarantine or blocked, saying why."""
    before, after = lots.set_lot_status(ctx.conn, ctx.tenant_id, lot_id, body.status, body.reason)
    ctx.audit("update", "lot", lot_id, before=before, after=after)
    return lots.get_lot(ctx.conn, ctx.tenant_id, lot_id)


@router.put("/lot-pattern", permission=ADJUST, body=LotPatternIn, response=LotPatternIn)
def set_lot_pattern(ctx: Context, body: LotPatternIn) -> LotPatternIn:
    """The company's lot number pattern: {yyyy} {yy} {mm} {dd} {item} {seq} {seq:04}."""
    before, after = lots.set_pattern(ctx.conn, ctx.tenant_id, body.lot_pattern)
    ctx.audit("update", "inventory_settings", ctx.tenant_id, before={"lot_pattern": before},
              after={"lot_pattern": after})
    return LotPatternIn(lot_pattern=after)


# --- movements and stock ---------------------------------------------------------------------

@router.get("/movements", permission=VIEW, query=MovementQuery, response=MovementPage)
def list_movements(ctx: Context, query: MovementQuery) -> MovementPage:
    """The ledger, newest first."""
    return stock.list_movements(ctx.conn, ctx.tenant_id, query)


@router.post("/movements", permission=MOVE, body=MovementIn, response=MovementOut, status_code=201)
def record_movement(ctx: Context, body: MovementIn) -> MovementOut:
    """Receipt, transfer, issue or return for an order operation, scrap; an adjustment needs `inventory.adjust`."""
    if body.kind == "adjustment" and ADJUST not in ctx.principal.permissions:  # type: ignore[union-attr]
        raise PermissionDenied("adjusting stock needs the inventory.adjust permission", field="kind")
    out = stock.record_movement(ctx.conn, ctx.tenant_id, ctx.user_id, body, datetime.now(UTC))
    ctx.audit("create", "stock_movement", out.id, after=_json(out))
    return out


@router.get("/stock", permission=VIEW, query=StockQuery, response=StockPage)
def list_stock(ctx: Context, query: StockQuery) -> StockPage:
    """Balances per item, lot and location (zero ones left out; negative ones flagged)."""
    return stock.list_stock(ctx.conn, ctx.tenant_id, query)


# --- opening stock ---------------------------------------------------------------------------

@router.post("/stock/import", permission=ADJUST, body=ProductImportIn, response=StockImportOut, long_running=True)
def import_stock(ctx: Context, body: ProductImportIn) -> StockImportOut:
    """Preview (`dry_run`, the default) or import opening stock from CSV/XLSX: Item, Lot, Location, Quantity
    (Unit, Supplier, Supplier lot, Expiry optional); rows with errors are listed, and refuse the import
    unless `skip_invalid`."""
    out = stock_import.import_stock(ctx.conn, ctx.tenant_id, ctx.user_id, body, ctx.settings.max_body_bytes,
                                    datetime.now(UTC))
    if out.import_id is not None:
        ctx.audit("create", "stock_import", out.import_id, after={
            "file_name": out.file_name, "received": out.received, "lots_created": out.lots_created,
            "skipped": out.skipped})
    return out


# --- at the machine --------------------------------------------------------------------------

@router.post("/machines/{machine_id:uuid}/scan", permission=MOVE, body=ScanIn, response=ScanOut, status_code=201)
def scan_at_machine(ctx: Context, machine_id: UUID, body: ScanIn) -> ScanOut:
    """A lot scanned as it is loaded on the machine: checked on the running order's BOM, then consumed or loaded."""
    out = consumption.scan_at_machine(ctx.conn, ctx.tenant_id, ctx.user_id, machine_id, body, datetime.now(UTC))
    ctx.audit("create", "lot_load", out.load_id, after={
        "lot_id": str(out.lot.id), "lot": out.lot.number, "operation_id": str(out.operation_id),
        "order": out.order_number, "read": out.read.read, "machine_id": str(machine_id),
        "movements": [m.id for m in out.movements]})
    return out


@router.post("/operations/{operation_id:uuid}/output", permission=MOVE, body=OutputIn, response=OutputOut,
             status_code=201)
def produce_output(ctx: Context, operation_id: UUID, body: OutputIn) -> OutputOut:
    """The operation's output as a finished lot: BOM consumption backflushed, linked to every lot it consumed."""
    out = consumption.produce_output(ctx.conn, ctx.tenant_id, ctx.user_id, operation_id, body, datetime.now(UTC))
    ctx.audit("create", "lot", out.lot.id, after=_json(out.lot) | {
        "operation_id": str(operation_id), "receipt": out.receipt.id,
        "inputs": [{"lot_id": str(c.lot_id), "quantity": str(c.quantity)} for c in out.consumed],
        "backflushed": [m.id for m in out.backflushed]})
    return out

