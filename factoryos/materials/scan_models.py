"""Request and response shapes of scanning at the machine and of an operation's finished lots."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.materials.gs1 import ScanRead
from factoryos.materials.models import MAX_QTY, LotOut, MovementOut


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=200, description="What the scanner sent (GS1 element string or a lot number).")
    quantity: Decimal | None = Field(None, gt=0, le=MAX_QTY, max_digits=18, decimal_places=6,
                                     description="Consume this much now; none: the lot is loaded and consumed by "
                                                 "BOM quantity per good part when the operation's lot is made.")
    unit: str | None = Field(None, max_length=20)


class ScanOut(BaseModel):
    read: ScanRead
    lot: LotOut
    operation_id: UUID
    order_number: str
    load_id: UUID
    movements: list[MovementOut] = Field(description="The issue(s) booked now (empty when loaded for later).")
    message: str = Field(description="What the terminal shows the operator.")


class OutputIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    quantity: Decimal | None = Field(None, gt=0, le=MAX_QTY, max_digits=18, decimal_places=6,
                                     description="Made; none: the operation's good count not yet put in a lot.")
    number: str | None = Field(None, min_length=1, max_length=60, description="Lot number; none: from the pattern.")
    location_id: UUID | None = Field(None, description="Where it goes; none: the machine's line side.")
    serials: list[str] = Field(default_factory=list, max_length=10000)


class ConsumedOut(BaseModel):
    lot_id: UUID
    lot_number: str
    item_number: str
    quantity: Decimal


class OutputOut(BaseModel):
    lot: LotOut
    receipt: MovementOut
    consumed: list[ConsumedOut] = Field(description="Every input lot now linked to this lot.")
    backflushed: list[MovementOut] = Field(description="Issues booked now by BOM quantity per good part.")
    missing: list[str] = Field(description="BOM items with no lot scanned for the operation (not traced).")
