"""Request and response shapes of runs at the machine and of machine queues."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

MAX_COUNT = 100_000_000


class RunStartIn(BaseModel):
    """Start an operation on the machine: by its id, or by its order's number (typed or scanned)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    operation_id: UUID | None = Field(None, description="The operation to run (one of operation_id, order_number).")
    order_number: str | None = Field(
        None, min_length=1, max_length=60,
        description="An order's number as typed or scanned: its next operation this machine may run.")
    current: Literal["pause", "complete"] | None = Field(
        None, description="What to do with the operation running on the machine; without it a running one is a 409.")


class RunPauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(None, max_length=500, description="Why it stops (kept in the audit log).")


class RunCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    final_good: int | None = Field(None, ge=0, le=MAX_COUNT,
                                   description="The operation's good parts as counted by the operator: replaces the count.")
    final_scrap: int | None = Field(None, ge=0, le=MAX_COUNT,
                                    description="The operation's scrap as counted by the operator: replaces the count.")


class RunOut(BaseModel):
    id: UUID
    machine_id: UUID
    operation_id: UUID
    job_id: UUID
    job_number: str
    product_id: UUID | None
    product_number: str | None
    product_name: str
    operation_seq: int
    operation_name: str
    operation_status: str
    quantity: int = Field(description="The operation's ordered quantity.")
    started_at: datetime
    setup_ended_at: datetime | None
    ended_at: datetime | None
    end_kind: Literal["paused", "completed", "cancelled"] | None
    cycle_seconds: Decimal | None = Field(description="The standard it runs at; null: the machine's own ideal cycle.")
    parts_per_cycle: int
    operator_id: UUID | None
    run_good: int = Field(description="Good parts counted in this run so far.")
    run_scrap: int = Field(description="Scrap counted in this run so far.")
    good: int = Field(description="The operation's good parts over all its runs (the final figure once given).")
    scrap: int = Field(description="The operation's scrap over all its runs (the final figure once given).")


class RunStartOut(BaseModel):
    run: RunOut
    ended: RunOut | None = Field(description="The run that was paused or completed first, if any.")


class QueueItem(BaseModel):
    operation_id: UUID
    job_id: UUID
    job_number: str
    product_name: str
    operation_seq: int
    operation_name: str
    status: str
    position: int = Field(description="1 = next.")
    quantity: int
    good: int
    remaining: int
    setup_seconds: Decimal
    cycle_seconds: Decimal = Field(description="Seconds per part: the standard ÷ parts per cycle, else the machine's own.")
    standard: Literal["routing", "machine"]
    work_seconds: Decimal = Field(description="Setup plus remaining parts at the standard.")
    planned_start: datetime | None
    planned_end: datetime | None = Field(description="Null when the shift calendar has no working time left for it.")
    due_date: date | None = None


class QueueOut(BaseModel):
    machine_id: UUID
    at: datetime
    horizon_end: datetime | None = Field(description="End of the horizon asked (default: the next 3 shifts).")
    running: RunOut | None
    items: list[QueueItem]
    overloaded: bool
    overload_seconds: Decimal = Field(description="Work planned past the horizon's end (0 when it fits).")


class QueueQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shifts: int = Field(3, ge=1, le=60, description="The horizon in shifts from now (the running one counts).")


class QueueOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operation_ids: list[UUID] = Field(max_length=1000, description="Exactly the queued operations, in the new order.")


class DispatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    machine_id: UUID
    position: int | None = Field(None, ge=1, le=100_000, description="1 = next; default: the end of the queue.")
