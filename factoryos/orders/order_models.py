"""Request and response shapes of manufacturing orders, their operations and ERP confirmations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.jobs.cells import MAX_QUANTITY
from factoryos.jobs.models import JobOut, JobStatus
from factoryos.listing import ListQuery

OrderStatus = JobStatus
# What a planner sets by hand; running and paused follow the runs at the machines.
ManualStatus = Literal["planned", "released", "completed", "cancelled"]


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    job_number: str = Field(min_length=1, max_length=60, description="The order's number, unique in the company.")
    product_id: UUID | None = Field(None, description="The product made; its routing gives the operations.")
    product_number: str | None = Field(None, min_length=1, max_length=60,
                                       description="The product by its number (instead of product_id).")
    product: str | None = Field(None, min_length=1, max_length=200,
                                description="Free text for an order without a product record (as the ERP names it).")
    quantity: int = Field(gt=0, le=MAX_QUANTITY)
    due_date: date
    customer: str | None = Field(None, max_length=200)
    site_id: UUID | None = None
    machine_id: UUID | None = Field(
        None, description="Where it should run (an operation any machine may run goes there).")
    notes: str | None = Field(None, max_length=2000)
    status: Literal["planned", "released"] = "planned"


class OrderPatch(BaseModel):
    """Only the fields sent change; `null` clears customer, site, machine or notes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    job_number: str | None = Field(None, min_length=1, max_length=60,
                                   description="Not editable once anything was produced.")
    product: str | None = Field(None, min_length=1, max_length=200, description="The product's free text.")
    quantity: int | None = Field(None, gt=0, le=MAX_QUANTITY, description="Never below what was produced.")
    due_date: date | None = None
    customer: str | None = Field(None, max_length=200)
    site_id: UUID | None = None
    machine_id: UUID | None = None
    notes: str | None = Field(None, max_length=2000)
    reason: str | None = Field(None, max_length=500, description="Why (kept in the audit log).")


class OrderStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: ManualStatus = Field(description="released, planned (back from released), completed or cancelled.")
    reason: str | None = Field(None, max_length=500, description="Why (kept in the audit log).")


class AllowedMachine(BaseModel):
    machine_id: UUID
    machine_code: str | None
    cycle_seconds: Decimal = Field(description="Standard seconds per cycle on this machine.")
    parts_per_cycle: int


class OperationOut(BaseModel):
    id: UUID
    seq: int
    name: str
    routing_operation_id: UUID | None
    quantity: int
    setup_seconds: Decimal
    allowed: list[AllowedMachine] = Field(description="Machines that may run it; empty: any, at its own ideal cycle.")
    status: OrderStatus
    machine_id: UUID | None = Field(description="The machine it is dispatched to or runs on.")
    machine_code: str | None
    queue_position: int | None
    good: int = Field(description="Good parts counted (or the final figure given at completion).")
    scrap: int
    final_good: int | None
    final_scrap: int | None


class OrderSummary(JobOut):
    product_number: str | None = Field(description="The linked product's number; null without a product record.")
    product_name: str | None
    updated_at: datetime
    running_on: list[str] = Field(default_factory=list, description=(
        "Codes of the machines its operations run on now (open runs), in order of their operations; "
        "`machine_code` is only the machine the order was planned for."))


class OrderOut(OrderSummary):
    operations: list[OperationOut]
    good: int = Field(description="Good parts of the last operation: what the order has delivered.")
    scrap: int = Field(description="Scrap of every operation.")


class OrderQuery(ListQuery):
    number: str | None = Field(None, max_length=60, description="Exactly this order number.")
    status: OrderStatus | None = None
    site_id: UUID | None = None
    machine_id: UUID | None = Field(None, description="The order's machine, or one of its operations is there.")
    product_id: UUID | None = None


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ReasonQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500, description="Why (kept in the audit log).")


class ConfirmationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(None, max_length=30, description="`next_cursor` of the last read; none: from the start.")
    limit: int = Field(500, ge=1, le=5000)


class ConfirmationOut(BaseModel):
    id: int = Field(description="The row's cursor position.")
    order_id: UUID
    order_number: str
    operation_id: UUID
    operation_seq: int
    operation_name: str
    machine_id: UUID
    machine_code: str | None
    good: int
    scrap: int
    started_at: datetime
    ended_at: datetime
    operator_id: UUID | None
    operator_name: str | None
    operator_email: str | None
    final: bool = Field(description="True when the run completed the operation (else it paused).")


class ConfirmationPage(BaseModel):
    items: list[ConfirmationOut]
    next_cursor: str = Field(description="Pass as `since` next time; the same cursor when nothing new arrived.")
