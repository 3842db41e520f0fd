"""Response shapes of a genealogy trace (backward or forward from one lot)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.reports.render import ReportFormat

Direction = Literal["backward", "forward"]


class TraceNode(BaseModel):
    """One link of the tree; the lot's details are in `TraceOut.details`, once per lot."""

    lot_id: UUID
    via_lot_id: UUID | None = Field(description="The lot this one was reached from (its parent in the tree).")
    level: int = Field(description="0: the lot traced; 1: its direct inputs (backward) or outputs (forward).")
    quantity: Decimal | None = Field(description="How much of the input went into the output on this link.")


class TraceLot(BaseModel):
    """A lot found, however many paths reach it: what it is, where it came from, who handled it."""

    lot_id: UUID
    lot_number: str
    origin: str
    status: str
    item_number: str
    item_name: str
    unit: str = Field(description="The item's unit: of `lot_quantity`, and of a link's quantity where this lot is the input.")
    supplier: str | None
    supplier_lot: str | None
    expires_on: date | None
    lot_quantity: Decimal | None
    order_number: str | None = Field(description="The order that made it (made lots).")
    machine_code: str | None
    operators: list[str] = Field(description="Who ran the operation that made it, and who loaded it at a machine.")


class TraceInspection(BaseModel):
    """A quality inspection of the order (or operation) that made a lot of the tree."""

    id: UUID
    lot_ids: list[UUID] = Field(description="The lots of the tree its order made.")
    plan_name: str
    order_number: str | None
    machine_code: str
    result: str = Field(description="pass or fail.")
    out_of_spec: int
    recorded_at: datetime


class TraceNonconformance(BaseModel):
    """A nonconformance naming a lot of the tree, or the order that made one."""

    id: UUID
    code: str = Field(description="NC-0001 …")
    lot_ids: list[UUID] = Field(description="The lots of the tree it concerns (the lot it names, or its order's).")
    lot_number: str | None = Field(description="The lot the nonconformance names, if any.")
    order_number: str | None
    machine_code: str
    status: str
    disposition: str | None
    quantity: Decimal
    description: str
    created_at: datetime


class TraceOut(BaseModel):
    direction: Direction
    lot_id: UUID
    lot_number: str
    nodes: list[TraceNode] = Field(description="The tree, level by level; a lot reached by several paths appears "
                                               "under each parent.")
    details: list[TraceLot] = Field(description="Each lot of the tree once, in the order the tree first reaches it.")
    inspections: list[TraceInspection]
    nonconformances: list[TraceNonconformance]
    levels: int
    lots: int = Field(description="Distinct lots found, the traced one included.")
    suppliers: list[str]
    orders: list[str] = Field(description="Orders that made a lot of the tree, and orders a lot of it is loaded "
                                          "for (in use, even before anything is made from it).")
    machines: list[str] = Field(description="Machines that made a lot of the tree, and machines a lot of it is "
                                            "loaded at.")
    operators: list[str] = Field(description="Who ran the operations that made the lots, and who loaded them.")
    truncated: bool = Field(description="True when more than the node limit was found (the rest left out).")

    def by_lot(self) -> dict[UUID, TraceLot]:
        return {d.lot_id: d for d in self.details}


class TraceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lot: str = Field(min_length=1, max_length=60, description="The lot's number (or id).")


class TraceReportQuery(TraceQuery):
    direction: Direction = Field("backward", description="backward (what went in) or forward (where it went).")
    format: ReportFormat = Field(ReportFormat.PDF, description="pdf, xlsx or json.")
