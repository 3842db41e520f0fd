"""Response shapes of the live view (`/production/live`)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from factoryos.connectivity.connection_models import LiveConnection
from factoryos.production.kpi_models import KpiValues
from factoryos.production.loss_models import DowntimeOut
from factoryos.production.shift_models import ShiftInstanceOut


class LiveOrder(BaseModel):
    """The order operation running on a machine now."""

    order_id: UUID
    order_number: str
    product: str = Field(description="The product's name (the order's product text when it names no product).")
    product_number: str | None
    operation_id: UUID
    operation: str = Field(description="The operation's name, e.g. Moulding.")
    operation_seq: int
    run_started_at: datetime
    setup_ended_at: datetime | None = Field(description="When the operator declared the changeover over; null: "
                                            "it lasts until the run's first count.")
    good: int = Field(description="Good parts counted in this operation so far, on every run of it.")
    scrap: int
    ordered: int = Field(description="The operation's quantity.")
    progress: float = Field(description="good ÷ ordered; may exceed 1.")
    cycle_seconds: float = Field(description="The standard it runs at: the product's on this machine, else the "
                                 "machine's own ideal cycle time.")
    parts_per_cycle: int
    expected_finish: datetime = Field(description="When the rest of the quantity is made at the standard rate from "
                                      "now (UTC): now + remaining × cycle ÷ parts per cycle.")


class LiveMachine(BaseModel):
    machine_id: UUID
    code: str
    name: str
    line_id: UUID | None
    state: str | None = Field(description="From the machine's signals (`no_data` while the poller cannot read "
                              "it); null for machines without them.")
    state_since: datetime | None
    raw_code: int | None
    shift: ShiftInstanceOut | None = Field(description="The shift running now, if any.")
    good_count: int
    reject_count: int
    target_quantity: int | None = Field(description="The plan's target for this shift.")
    kpis: KpiValues | None = Field(description="OEE so far in the running shift.")
    pending_downtime: list[DowntimeOut] = Field(description="Downtime waiting for a reason, newest first.")
    pending_anomalies: int = Field(0, description="Counter jumps waiting for a supervisor to accept or discard them "
                                               "(see `/machines/{id}/anomalies`).")
    connection: LiveConnection | None = Field(None, description="Connection and its health; null without settings.")
    order: LiveOrder | None = Field(None, description="The order operation running on the machine; null when none runs.")


class LiveView(BaseModel):
    site_id: UUID
    at: datetime
    machines: list[LiveMachine]


class LiveQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: UUID
    line_id: UUID | None = None
