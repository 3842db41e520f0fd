"""Request and response shapes of items, BOMs, locations, lots, stock and movements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.listing import ListQuery

ItemKind = Literal["material", "component", "product"]
LotStatus = Literal["available", "quarantine", "blocked"]
LocationKind = Literal["warehouse", "bin", "line_side"]
MovementKind = Literal["receipt", "transfer", "issue", "return", "scrap", "adjustment", "production_receipt"]
MAX_QTY = Decimal("1000000000")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UnitIn(_In):
    unit: str = Field(min_length=1, max_length=20)
    factor: Decimal = Field(gt=0, le=MAX_QTY, max_digits=18, decimal_places=6,
                            description="How many of the item's base unit one of this unit holds.")


class ItemIn(_In):
    number: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    kind: ItemKind = "material"
    unit: str = Field("pcs", min_length=1, max_length=20, description="The base unit stock is kept in.")
    gtin: str | None = Field(None, pattern=r"^\d{8}$|^\d{12,14}$", description="GTIN printed on the supplier's labels.")
    catalog_entry_id: UUID | None = Field(None, description="The catalog's material this item is.")
    product_id: UUID | None = Field(None, description="The product this item is, when production makes it.")
    has_expiry: bool = False
    serialized: bool = False
    units: list[UnitIn] = Field(default_factory=list, max_length=20)


class ItemOut(BaseModel):
    id: UUID
    number: str
    name: str
    kind: ItemKind
    unit: str
    gtin: str | None
    catalog_entry_id: UUID | None
    product_id: UUID | None
    has_expiry: bool
    serialized: bool
    units: list[UnitIn]


class ItemQuery(ListQuery):
    kind: ItemKind | None = None


class ItemPage(BaseModel):
    items: list[ItemOut]
    next_cursor: str | None


class BomLineIn(_In):
    item_id: UUID
    quantity: Decimal = Field(gt=0, le=MAX_QTY, max_digits=18, decimal_places=6,
                              description="Per unit of the product, in the item's base unit.")
    scrap_percent: Decimal = Field(Decimal(0), ge=0, lt=100, max_digits=6, decimal_places=3)


class BomIn(_In):
    lines: list[BomLineIn] = Field(min_length=1, max_length=500)


class BomLineOut(BaseModel):
    seq: int
    item_id: UUID
    item_number: str
    item_name: str
    unit: str
    quantity: Decimal
    scrap_percent: Decimal


class BomOut(BaseModel):
    id: UUID
    product_id: UUID
    version: int
    status: Literal["draft", "released", "obsolete"]
    released_at: datetime | None
    lines: list[BomLineOut]


class LocationIn(_In):
    site_id: UUID
    kind: LocationKind
    code: str = Field(min_length=1, max_length=40)
    name: str | None = Field(None, max_length=200)
    parent_id: UUID | None = Field(None, description="The warehouse of a bin; a warehouse or line side hangs off the site.")
    machine_id: UUID | None = Field(None, description="The machine of a line-side location.")


class SiteStockPolicyIn(_In):
    allow_negative: bool = Field(description="Whether issues may take this site's stock below zero (then flagged).")


class LocationOut(BaseModel):
    id: UUID
    site_id: UUID
    parent_id: UUID | None
    kind: Literal["site", "warehouse", "bin", "line_side"]
    code: str
    name: str
    machine_id: UUID | None
    allow_negative: bool


class LotIn(_In):
    item_id: UUID
    number: str | None = Field(None, min_length=1, max_length=60,
                               description="As entered; none: generated from the company's lot pattern.")
    supplier: str | None = Field(None, max_length=200)
    supplier_lot: str | None = Field(None, max_length=60)
    expires_on: date | None = None
    serials: list[str] = Field(default_factory=list, max_length=10000)


class LotStatusIn(_In):
    status: LotStatus
    reason: str = Field(min_length=1, max_length=500)


class LotOut(BaseModel):
    id: UUID
    item_id: UUID
    item_number: str
    item_name: str
    number: str
    origin: Literal["generated", "entered", "production"]
    supplier: str | None
    supplier_lot: str | None
    expires_on: date | None
    status: LotStatus
    status_reason: str | None
    quantity: Decimal | None
    on_hand: Decimal = Field(description="Stock of the lot over every location.")
    job_id: UUID | None
    operation_id: UUID | None
    machine_id: UUID | None
    serials: list[str]
    created_at: datetime


class LotQuery(ListQuery):
    item_id: UUID | None = None
    status: LotStatus | None = None
    number: str | None = Field(None, max_length=60)
    job_id: UUID | None = Field(None, description="The lots an order made.")


class LotPage(BaseModel):
    items: list[LotOut]
    next_cursor: str | None


class LotPatternIn(_In):
    lot_pattern: str = Field(min_length=1, max_length=80, description="Tokens: {yyyy} {yy} {mm} {dd} {seq} {seq:04}.")


class MovementIn(_In):
    kind: Literal["receipt", "transfer", "issue", "return", "scrap", "adjustment"]
    item_id: UUID
    lot_id: UUID | None = None
    quantity: Decimal = Field(max_digits=18, decimal_places=6, description="Positive; an adjustment may be negative.")
    unit: str | None = Field(None, max_length=20, description="Defaults to the item's base unit.")
    from_location_id: UUID | None = None
    to_location_id: UUID | None = None
    operation_id: UUID | None = Field(None, description="The order operation an issue or return is for.")
    reason: str | None = Field(None, max_length=500, description="Required for an adjustment and a scrap.")


class MovementOut(BaseModel):
    id: int
    kind: MovementKind
    item_id: UUID
    lot_id: UUID | None
    from_location_id: UUID | None
    to_location_id: UUID | None
    quantity: Decimal
    entered_quantity: Decimal
    entered_unit: str
    operation_id: UUID | None
    job_id: UUID | None
    machine_id: UUID | None
    reason: str | None
    went_negative: bool = Field(description="The movement took a balance below zero (the site allows it).")
    user_id: UUID | None
    at: datetime


class MovementQuery(ListQuery):
    item_id: UUID | None = None
    lot_id: UUID | None = None
    operation_id: UUID | None = None
    kind: MovementKind | None = None


class MovementPage(BaseModel):
    items: list[MovementOut]
    next_cursor: str | None


class StockQuery(ListQuery):
    item_id: UUID | None = None
    lot_id: UUID | None = None
    location_id: UUID | None = None
    site_id: UUID | None = None


class StockOut(BaseModel):
    item_id: UUID
    item_number: str
    lot_id: UUID | None
    lot_number: str | None
    lot_status: LotStatus | None
    location_id: UUID
    location_code: str
    quantity: Decimal
    negative: bool


class StockPage(BaseModel):
    items: list[StockOut]
    next_cursor: str | None


class UnitsIn(_In):
    units: list[UnitIn] = Field(max_length=20)


class LocationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: UUID | None = None


class LabelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["pdf", "zpl"] = Field("pdf", description="pdf, or zpl for a Zebra printer (send it raw).")
