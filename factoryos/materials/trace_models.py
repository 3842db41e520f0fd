"""Response shapes of a genealogy trace (backward or forward from one lot)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.reports.render import ReportFormat

Direction = Literal["backward", "forward"]


class TraceNode(BaseModel):
    lot_id: UUID
    via_lot_id: UUID | None = Field(description="The lot this one was reached from (its parent in the tree).")
    level: int = Field(description="0: the lot traced; 1: its direct inputs (backward) or outputs (forward).")
    quantity: Decimal | None = Field(description="How much of the input went into the output on this link.")
    lot_number: str
    origin: str
    status: str
    item_number: str
    item_name: str
    supplier: str | None
    supplier_lot: str | None
    expires_on: date | None
    lot_quantity: Decimal | None
    order_number: str | None
    machine_code: str | None
    operators: list[str]


class TraceOut(BaseModel):
    direction: Direction
    lot_id: UUID
    lot_number: str
    nodes: list[TraceNode]
    levels: int
    lots: int = Field(description="Distinct lots found, the traced one included.")
    suppliers: list[str]
    orders: list[str]
    machines: list[str]
    operators: list[str]
    truncated: bool = Field(description="True when more than the node limit was found (the rest left out).")



class TraceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot: str = Field(min_length=1, max_length=60, description="The lot's number (or id).")


class TraceReportQuery(TraceQuery):
    direction: Direction = Field("backward", description="backward (what went in) or forward (where it went).")
    format: ReportFormat = Field(ReportFormat.PDF, description="pdf, xlsx or json.")
